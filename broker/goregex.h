/* goregex.h - the regular expressions of Alertmanager's matchers, in PCRE2.
 *
 * Alertmanager 0.25 (built with Go 1.19) compiles a matcher's regex with Go's regexp
 * package: RE2 syntax with Perl flags. incidentd matches with PCRE2, whose syntax is
 * larger and in places means something else (\s, \v, [[:upper:]] and \w under (?i),
 * \12, $, {,3}, ...). goregex_to_pcre2() parses a pattern exactly as Go 1.19's
 * regexp/syntax does, refuses what Go refuses with Go's message (so lookarounds,
 * backreferences, atomic groups, possessive quantifiers, \Z, (?<name>...) are refused as
 * Alertmanager refuses them), and writes a PCRE2 pattern that matches the same strings:
 * every construct is spelled out explicitly (classes as code point ranges, anchors as \A
 * and \z, `.` as [^\n]), so nothing depends on PCRE2's options except PCRE2_UTF.
 *
 * What cannot be made to mean the same is refused with a message that says so: \p{..}
 * classes that Go case-folds under (?i) (L, Ll, Lt, Lu, M, Mn, Common, Greek, Inherited),
 * and groups nested deeper than 1000. Known residual differences (docs/routing.md): the
 * Unicode version of \p classes and of case folding (Go 1.19: Unicode 13; PCRE2 10.42:
 * Unicode 14), and PCRE2's match limit on pathological patterns. */
#ifndef INCIDENTD_GOREGEX_H
#define INCIDENTD_GOREGEX_H

#include <stddef.h>

/* Translate the Go regexp pattern (NUL-terminated UTF-8) into an equivalent PCRE2 pattern
 * for pcre2_compile() with PCRE2_UTF. Returns 0 and *out (a new string; the caller frees
 * it), -EINVAL with Go's error ("missing closing ): `(a`", plus a hint for Perl syntax that
 * RE2 lacks) in err, or -ENOMEM. Does not call back. */
int goregex_to_pcre2(const char *pattern, char **out, char *err, size_t errlen);

#endif
