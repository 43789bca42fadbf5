package phone

import "github.com/nyaruka/phonenumbers"

// Display writes an E.164 number the way people read it, with its
// country code and the country's grouping: "+91 98765 43210". Anything it
// cannot parse is returned as it is.
func Display(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}
