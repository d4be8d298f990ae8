package topology

// MaxScopeLen is the longest scope name.
const MaxScopeLen = 64

// ValidScope reports whether s can name a scope (the Scope of bridges,
// routers, chains, ...): 1 to MaxScopeLen ASCII letters, digits, '-', '_'
// and '.'.
func ValidScope(s string) bool {
	if s == "" || len(s) > MaxScopeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
