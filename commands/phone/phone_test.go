package phone

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const phoneTestIndian = "+919876543210"

var phoneTestForeignIN = "not an Indian number (+91); numbers from other countries are not enabled"

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	india := Policy{Region: "IN"}
	world := Policy{Region: "IN", AllowForeign: true}

	tests := []struct {
		name   string
		input  string
		policy Policy
		want   string // E.164 when accepted
		reason string // Error.Reason when refused
	}{
		// Indian mobile numbers, as staff type them.
		{"plain 10 digits", "9876543210", india, phoneTestIndian, ""},
		{"5+5 spaces", "98765 43210", india, phoneTestIndian, ""},
		{"dashes with +91", "+91-98765-43210", india, phoneTestIndian, ""},
		{"+91 with spaces", "+91 98765 43210", india, phoneTestIndian, ""},
		{"trunk 0", "098765 43210", india, phoneTestIndian, ""},
		{"trunk 0 dashed", "0-98765-43210", india, phoneTestIndian, ""},
		{"91 without plus", "919876543210", india, phoneTestIndian, ""},
		{"91 spaced without plus", "91 98765 43210", india, phoneTestIndian, ""},
		{"parenthesised +91", "(+91) 98765-43210", india, phoneTestIndian, ""},
		{"parenthesised 91 no plus", "(91) 9876543210", india, phoneTestIndian, ""},
		{"0091 IDD", "0091 98765 43210", india, phoneTestIndian, ""},
		{"+91 glued", "+919876543210", india, phoneTestIndian, ""},
		{"dots", "98765.43210", india, phoneTestIndian, ""},
		{"dotted triples", "987.654.3210", india, phoneTestIndian, ""},
		{"parentheses around prefix", "(98765) 43210", india, phoneTestIndian, ""},
		{"stray spaces", "  9 8 7 6 5 4 3 2 1 0  ", india, phoneTestIndian, ""},
		{"4-3-3 grouping", "9876 543 210", india, phoneTestIndian, ""},
		{"non-breaking space", "98765\u00a043210", india, phoneTestIndian, ""},
		{"narrow nbsp and +91", "+91\u202f98765\u202f43210", india, phoneTestIndian, ""},
		{"zero-width space", "98765\u200b43210", india, phoneTestIndian, ""},
		{"WhatsApp bidi marks", "\u202a+91 98765 43210\u202c", india, phoneTestIndian, ""},
		{"BOM from CSV", "\ufeff9876543210", india, phoneTestIndian, ""},
		{"unicode dashes", "+91\u201098765\u201343210", india, phoneTestIndian, ""},
		{"Devanagari digits", "९८७६५ ४३२१०", india, phoneTestIndian, ""},
		{"fullwidth digits", "＋９１ ９８７６５ ４３２１０", india, phoneTestIndian, ""},
		{"tab separated", "98765\t43210", india, phoneTestIndian, ""},
		{"other valid mobile", "91234 56789", india, "+919123456789", ""},
		{"mobile starting with 6", "62345 67890", india, "+916234567890", ""},

		// Numbers that went through Excel.
		{"excel E9", "9.87654321E9", india, phoneTestIndian, ""},
		{"excel e+09", "9.87654321e+09", india, phoneTestIndian, ""},
		{"excel E+09", "9.87654321E+09", india, phoneTestIndian, ""},
		{"excel 91 prefix E+11", "9.19876543210E+11", india, phoneTestIndian, ""},
		{"excel trailing .0", "9876543210.0", india, phoneTestIndian, ""},
		{"excel trailing .00", "919876543210.00", india, phoneTestIndian, ""},
		{"excel apostrophe", "'9876543210", india, phoneTestIndian, ""},
		{"excel apostrophe +91", "'+91 98765 43210", india, phoneTestIndian, ""},
		{"excel formula text", `="9876543210"`, india, phoneTestIndian, ""},
		{"quoted", `"98765 43210"`, india, phoneTestIndian, ""},
		{"excel not an integer", "9.876543210123E9", india, "", phoneReasonInvalid},
		{"excel negative exponent", "9.87E-5", india, "", phoneReasonInvalid},
		{"excel rounded display", "9.19877E+11", india, "", phoneReasonRounded},
		{"excel huge exponent", "9.8E+99", india, "", phoneReasonLong},

		// Landlines and other non-mobile numbers.
		{"Delhi landline", "011 2345 6789", india, "", phoneReasonMobile},
		{"Delhi landline +91", "+91 11 2345 6789", india, "", phoneReasonMobile},
		{"Mumbai landline", "022 2345 6789", india, "", phoneReasonMobile},
		{"Mumbai landline dashed", "022-23456789", india, "", phoneReasonMobile},
		{"Bengaluru landline 91", "91 80 2345 6789", india, "", phoneReasonMobile},

		// Wrong lengths and junk.
		{"too short", "98765", india, "", phoneReasonShort},
		{"nine digits", "987654321", india, "", phoneReasonShort},
		{"one digit", "5", india, "", phoneReasonShort},
		{"plus and one digit", "+9", india, "", phoneReasonShort},
		{"eleven digits", "98765432101", india, "", phoneReasonLong},
		{"too long", "98765432101234", india, "", phoneReasonLong},
		{"way too long", strings.Repeat("9", 30), india, "", phoneReasonLong},
		{"starts with 1", "12345 67890", india, "", phoneReasonInvalid},
		{"starts with 5", "52345 67890", india, "", phoneReasonInvalid},
		{"letters", "abc", india, "", phoneReasonNoDigits},
		{"empty", "", india, "", phoneReasonNoDigits},
		{"only separators", " - ( ) ", india, "", phoneReasonNoDigits},
		{"invisible only", "\u200b\u00a0", india, "", phoneReasonNoDigits},
		{"digits and letters", "98765 4321O", india, "", phoneReasonInvalid},
		{"plus in the middle", "98765+43210", india, "", phoneReasonInvalid},
		{"unknown country code", "+999 1234 5678", world, "", phoneReasonInvalid},
		{"IDD only", "00", india, "", phoneReasonShort},

		// Foreign numbers.
		{"US refused", "+1 415 555 2671", india, "", phoneTestForeignIN},
		{"UK refused", "+44 7911 123456", india, "", phoneTestForeignIN},
		{"UAE refused", "+971 50 123 4567", india, "", phoneTestForeignIN},
		{"UAE via 00 refused", "00971 50 123 4567", india, "", phoneTestForeignIN},
		{"US accepted", "+1 415 555 2671", world, "+14155552671", ""},
		{"US dashed accepted", "+1 (415) 555-2671", world, "+14155552671", ""},
		{"UK accepted", "+44 7911 123456", world, "+447911123456", ""},
		{"UK via 0044 accepted", "0044 7911 123456", world, "+447911123456", ""},
		{"UAE accepted", "+971 50 123 4567", world, "+971501234567", ""},
		{"Indian still fine with foreign allowed", "98765 43210", world, phoneTestIndian, ""},
		{"UK landline with foreign allowed", "+44 20 7946 0958", world, "", phoneReasonMobile},
		{"foreign too short", "+44 7911", world, "", phoneReasonShort},

		// Other home regions.
		{"UK region national", "07911 123456", Policy{Region: "GB"}, "+447911123456", ""},
		{"UK region lower-case", "07911 123456", Policy{Region: "gb"}, "+447911123456", ""},
		{"UK region refuses India", "+91 98765 43210", Policy{Region: "GB"}, "",
			"not a number from United Kingdom (+44); numbers from other countries are not enabled"},
		{"US region national", "(415) 555-2671", Policy{Region: "US"}, "+14155552671", ""},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.input, tc.policy)
			if tc.reason == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Normalize(%q, %+v) = %q, %v; want %q", tc.input, tc.policy, got, err, tc.want)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Normalize(%q, %+v) = %q, %v; want *Error %q", tc.input, tc.policy, got, err, tc.reason)
			}
			if got != "" {
				t.Errorf("Normalize(%q) returned %q together with an error", tc.input, got)
			}
			if pe.Reason != tc.reason || pe.Input != tc.input {
				t.Errorf("Normalize(%q, %+v) error = {Input: %q, Reason: %q}; want reason %q",
					tc.input, tc.policy, pe.Input, pe.Reason, tc.reason)
			}
			if !strings.Contains(pe.Error(), tc.reason) {
				t.Errorf("Error() = %q does not mention the reason", pe.Error())
			}
		})
	}
}

func TestPhoneReasonsDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range []string{phoneReasonNoDigits, phoneReasonShort, phoneReasonLong, phoneReasonInvalid,
		phoneReasonMobile, phoneReasonRounded, phoneTestForeignIN} {
		if seen[r] {
			t.Errorf("reason %q used twice", r)
		}
		seen[r] = true
	}
}

func TestFindPhones(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"single with space", "98765 43210", []string{"98765 43210"}},
		{"single plain", "9876543210", []string{"9876543210"}},
		{"two by comma", "9876543210, 9123456789", []string{"9876543210", "9123456789"}},
		{"two by comma no space", "98765 43210,91234 56789", []string{"98765 43210", "91234 56789"}},
		{"two by semicolon", "9876543210;9123456789", []string{"9876543210", "9123456789"}},
		{"two by newline", "98765 43210\n91234 56789\n", []string{"98765 43210", "91234 56789"}},
		{"two by space", "9876543210 9123456789", []string{"9876543210", "9123456789"}},
		{"two spaced by space", "98765 43210 91234 56789", []string{"98765 43210", "91234 56789"}},
		{"with words", "call 98765 43210 and +91 91234 56789 pls",
			[]string{"98765 43210", "+91 91234 56789"}},
		{"+91 then plain", "+91 98765 43210, 91234 56789", []string{"+91 98765 43210", "91234 56789"}},
		{"two +91 by space", "+91 98765 43210 +91 91234 56789", []string{"+91 98765 43210", "+91 91234 56789"}},
		{"+91 glued then plain", "+919876543210 9123456789", []string{"+919876543210", "9123456789"}},
		{"91 prefix spaced", "91 98765 43210", []string{"91 98765 43210"}},
		{"0091 prefix", "0091 98765 43210", []string{"0091 98765 43210"}},
		{"trunk zero", "0 98765 43210 and 098765 43210", []string{"0 98765 43210", "098765 43210"}},
		{"parenthesised prefix", "(+91) 98765-43210", []string{"(+91) 98765-43210"}},
		{"dashed", "+91-98765-43210 / 91234-56789", []string{"+91-98765-43210", "91234-56789"}},
		{"excel in text", "numbers: 9.87654321E+09, 9.12345678e9", []string{"9.87654321E+09", "9.12345678e9"}},
		{"excel trailing .0", "9876543210.0 9123456789.0", []string{"9876543210.0", "9123456789.0"}},
		{"full stop after number", "My number is 9876543210.", []string{"9876543210"}},
		{"apostrophe", "'9876543210", []string{"9876543210"}},
		{"nbsp and bidi marks", "\u202a+91\u00a098765\u00a043210\u202c", []string{"+91 98765 43210"}},
		{"short tail dropped", "9876543210 12", []string{"9876543210"}},
		{"short head not merged", "12 9876543210", []string{"9876543210"}},
		{"quantities ignored", "2 pcs of #12 at 10:30, Rs 450", nil},
		{"retry style", "/retry 12", nil},
		{"no numbers", "hello, please add Ramesh", nil},
		{"empty", "", nil},
		{"five digits kept as attempt", "98765", []string{"98765"}},
		{"broken number kept together", "98765 4321", []string{"98765 4321"}},
		{"foreign numbers", "+1 415 555 2671; +44 7911 123456", []string{"+1 415 555 2671", "+44 7911 123456"}},
		{"11-digit national after cc", "+86 138 0013 8000", []string{"+86 138 0013 8000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Find(tc.text)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Find(%q) = %q; want %q", tc.text, got, tc.want)
			}
		})
	}
}

// Every candidate Find returns for a realistic message normalizes to
// the number the sender meant.
func TestFindPhonesThenNormalizePhone(t *testing.T) {
	t.Parallel()
	text := "pls add: +91 98765 43210, 91234 56789\n9.87654321E+09 and 0091 62345 67890."
	want := []string{phoneTestIndian, "+919123456789", phoneTestIndian, "+916234567890"}
	var got []string
	for _, c := range Find(text) {
		e164, err := Normalize(c, Policy{Region: "IN"})
		if err != nil {
			t.Fatalf("candidate %q: %v", c, err)
		}
		got = append(got, e164)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestPhoneExample(t *testing.T) {
	t.Parallel()
	if got, want := Example("IN"), "98765 43210 or +91 98765 43210"; got != want {
		t.Errorf("Example(IN) = %q; want %q", got, want)
	}
	if got := Example("XX"); got != "" {
		t.Errorf("Example(XX) = %q; want empty", got)
	}
	for _, region := range []string{"IN", "US", "GB", "AE"} {
		ex := Example(region)
		parts := strings.Split(ex, " or ")
		if len(parts) != 2 {
			t.Errorf("Example(%s) = %q; want two formats joined by \" or \"", region, ex)
			continue
		}
		var first string
		for i, part := range parts {
			got, err := Normalize(part, Policy{Region: region})
			if err != nil {
				t.Errorf("Example(%s) part %q does not normalize: %v", region, part, err)
				continue
			}
			if i == 0 {
				first = got
			} else if got != first {
				t.Errorf("Example(%s) parts normalize differently: %q vs %q", region, first, got)
			}
		}
		// Every example part is also found as a single candidate in text.
		for _, part := range parts {
			if got := Find("number: " + part); len(got) != 1 || got[0] != part {
				t.Errorf("Find(%q) = %q; want [%q]", part, got, part)
			}
		}
	}
}
