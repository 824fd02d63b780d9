/* safeout.h - stdout that is inert on a terminal: what incidentctl prints quotes text that
 * event senders wrote (summaries, messages, app names). */
#ifndef INCIDENTCTL_SAFEOUT_H
#define INCIDENTCTL_SAFEOUT_H

/* Replace stdout with a stream that writes through to the old one but escapes terminal
 * control: C0 controls other than newline and tab, DEL, the C1 controls (U+0080..U+009F)
 * and the bidirectional overrides (U+202A..U+202E, U+2066..U+2069) become "\xNN" /
 * "\uNNNN" (valid inside a JSON string, so --json output stays valid JSON with the same
 * values). Returns 0, or -ENOMEM (stdout is then unchanged). Call once, before output. */
int safeout_install(void);

#endif
