package console

// HasMessage reports whether key is translated.
func HasMessage(key string) bool {
	m, ok := messages[key]
	return ok && m[0] != "" && m[1] != ""
}
