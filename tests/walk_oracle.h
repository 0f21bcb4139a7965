/* walk_oracle.h - what the walk's member reads are held to, shared by
 * tests/test_event.c (Criterion) and tests/fuzz/fuzz_walk.c (libFuzzer), so
 * that both check the same thing. */
#ifndef CTR_WALK_ORACLE_H
#define CTR_WALK_ORACLE_H

#include <jansson.h>
#include <stddef.h>

/* The members of the object whose bytes are v[0..len), and of every object
 * inside them, as ctr__walk_members finds them, against jansson's `want`:
 * each member's bytes parse alone to jansson's value for its key (the last
 * of a repeated key), every key jansson has is found, and only an object
 * holding a backslash (an escaped key may decode to any) is refused. NULL
 * when they agree, else what differs. */
const char *wo_nested_members(const char *v, size_t len, const json_t *want);

/* Every path into the value whose bytes are v[0..len) (jansson's `want`),
 * read by ctr__walk_path: each member of each object and each element of
 * each array (and one past the last) to a depth of WO_PATH_DEPTH, keys one
 * byte short and one byte long, a key no object has, and a step below a
 * scalar, each held to jansson: a value jansson has is found, its bytes
 * parse alone to it and are plain exactly when they are a string without a
 * backslash; one it lacks is absent; only a value holding a backslash (an
 * escaped key may decode to any) may be left unsure. NULL when they agree,
 * else what differs. */
#define WO_PATH_DEPTH 5
const char *wo_paths(const char *v, size_t len, const json_t *want);

/* The record walk's two versions (ctr__walk_wide_runs: AVX-512BW where the
 * processor has it, SSE2) on s[0..len), told to bail on shape keys and not:
 * the same verdict, end and facts. NULL when they agree, else what
 * differs. */
const char *wo_walk_versions(const char *s, size_t len);

#endif
