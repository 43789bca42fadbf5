package words

import "fmt"

// Size writes a byte count for a person in MB, KB or bytes (1 MB is 2^20
// bytes, 1 KB 2^10) with at most one decimal: "5 MB", "1.3 MB",
// "120.5 KB", "1 byte", "1,023 bytes". A size rounds up and a limit
// (SizeLimit) rounds down, so a file over a limit never reads as if it
// were within it ("the file is 5.1 MB; the limit is 5 MB").
func Size(n int64) string { return size(n, true) }

// SizeLimit is Size for a limit: it rounds down.
func SizeLimit(n int64) string { return size(n, false) }

func size(n int64, up bool) string {
	format := func(unit int64, name string) string {
		tenths := n/unit*10 + n%unit*10/unit
		if up && n%unit*10%unit != 0 {
			tenths++
		}
		if tenths%10 == 0 {
			return fmt.Sprintf("%s %s", Number(int(tenths/10)), name)
		}
		return fmt.Sprintf("%s.%d %s", Number(int(tenths/10)), tenths%10, name)
	}
	switch {
	case n >= 1<<20:
		return format(1<<20, "MB")
	case n >= 1<<10:
		return format(1<<10, "KB")
	}
	return Count(int(n), "byte")
}
