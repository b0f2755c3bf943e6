/* strset.h - a set of strings with a number each, for finding names among
 * tens of thousands without comparing against every one (notify.c's
 * snapshots). Open addressing; the keys are borrowed (they must outlive the
 * set); no removal: build one, look up, free it.
 *
 *   struct strset s = STRSET_INIT;
 *   strset_put(&s, "cat.mp4", 7);      // true: new
 *   size_t i; strset_get(&s, "cat.mp4", &i)  ->  true, i == 7
 *   strset_free(&s);
 */
#ifndef STRSET_H
#define STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct strset {
	const char **keys;
	size_t *vals;
	size_t cap, n; /* cap: 0 or a power of two */
};

#define STRSET_INIT { NULL, NULL, 0, 0 }

/* Adds KEY with VAL; false (and nothing changed) if KEY is there already. */
bool strset_put(struct strset *s, const char *key, size_t val);
/* Whether KEY is there; its number in *VAL (VAL may be NULL). */
bool strset_get(const struct strset *s, const char *key, size_t *val);
void strset_free(struct strset *s);

#endif
