package iostreams

// ColorScheme wraps text in ANSI colour codes when colour is enabled and
// returns it unchanged otherwise.
type ColorScheme struct{ enabled bool }

// ColorScheme returns the scheme for these streams.
func (s *IOStreams) ColorScheme() ColorScheme { return ColorScheme{enabled: s.color} }

func (c ColorScheme) wrap(code, text string) string {
	if !c.enabled || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Bold makes text bold.
func (c ColorScheme) Bold(t string) string { return c.wrap("1", t) }

// Red colours errors.
func (c ColorScheme) Red(t string) string { return c.wrap("31", t) }

// Yellow colours warnings.
func (c ColorScheme) Yellow(t string) string { return c.wrap("33", t) }

// Green colours success.
func (c ColorScheme) Green(t string) string { return c.wrap("32", t) }

// Gray colours secondary text.
func (c ColorScheme) Gray(t string) string { return c.wrap("90", t) }

// Cyan colours hints.
func (c ColorScheme) Cyan(t string) string { return c.wrap("36", t) }
