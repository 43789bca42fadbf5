package ops

import (
	"context"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/store/settings"
)

// TimeText writes a moment the one way chat replies and the files
// MessageBridge writes show it: in the display zone (the campaign.timezone
// setting, see Location), with the zone named, e.g. "28 Nov 2026 14:05
// IST". The zero time is "".
func (s *Service) TimeText(ctx context.Context, t time.Time) string {
	return TimeText(t, s.Location(ctx))
}

// TimeText writes t in loc as "28 Nov 2026 14:05 IST"; the zero time is "".
func TimeText(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	abbr, _ := t.Zone()
	return t.Format("2 Jan 2006 15:04") + " " + zoneAbbr(abbr)
}

// ZoneLabel names loc for a column heading: its abbreviation when it keeps
// one all year ("IST", "UTC"), otherwise its name ("Europe/London"), since
// one abbreviation would be wrong for half the rows.
func ZoneLabel(loc *time.Location) string {
	year := time.Now().In(loc).Year()
	winter, _ := time.Date(year, time.January, 1, 12, 0, 0, 0, loc).Zone()
	summer, _ := time.Date(year, time.July, 1, 12, 0, 0, 0, loc).Zone()
	if winter == summer {
		return zoneAbbr(winter)
	}
	return loc.String()
}

// zoneAbbr is a zone abbreviation for people: Go writes "+04" for a zone
// without one, which reads as an offset only next to "UTC".
func zoneAbbr(abbr string) string {
	if strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-") {
		return "UTC" + abbr
	}
	return abbr
}

// DurationText writes a setting-like duration as people type it: "24h",
// "1h30m", "5s" (not "24h0m0s").
func DurationText(d time.Duration) string { return settings.ShortDuration(d) }
