/*
 * utf8.h - UTF-8 validity, as MQTT requires it of topic names (MQTT 3.1.1, section 1.5.3:
 * well-formed UTF-8 as RFC 3629 defines it, no U+0000, no surrogates), and the words a topic
 * level can hold.
 */
#ifndef SIM_CORE_UTF8_H
#define SIM_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the n bytes at s are well-formed UTF-8 (RFC 3629: shortest forms only, no
 * surrogates, nothing above U+10FFFF, no NUL).  When not, *bad (if not NULL) is the offset of
 * the first byte of the first bad sequence. */
bool sim_utf8_valid(const char *s, size_t n, size_t *bad);

/* Whether s is a non-empty word that one MQTT topic level can hold as it is: no space, no
 * control character below 0x20, no '/' (the level separator), no '+' or '#' (the wildcards of
 * MQTT 3.1.1, section 4.7).  The fleet's user and vehicle ids and the journal's subtypes. */
bool sim_topic_word(const char *s);

#endif
