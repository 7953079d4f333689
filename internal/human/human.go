// Package human formats quantities for people: durations as 0.4s, 12.3s,
// 2m03s or 1h02m03s rather than Go's 403.895066ms or 2m3.2s.
package human

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration rounds d for reading: tenths of a second under a minute, whole
// seconds under an hour, whole seconds with hours beyond. Negative
// durations keep their sign.
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	switch {
	case d < time.Minute:
		return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		if d >= time.Hour { // 59m59.6s rounds up
			return Duration(d)
		}
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dh%02dm%02ds", int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second))
	}
}

// ParseDuration reads a duration as Go writes it ("403.895066ms") or as Azure
// ML writes it ("00:06:43.8950660", "1.02:03:04" with days); ok is false for
// anything else.
func ParseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	var days int64
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s+":", ':') {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, false
		}
		days, s = n, s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || m >= 60 || sec >= 60 || h < 0 || m < 0 || sec < 0 {
		return 0, false
	}
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second)), true
}
