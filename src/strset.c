/* strset.c - a set of borrowed strings with a number each (see strset.h). */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

/* The slot of KEY, or the empty slot where it would go. */
static size_t slot(const struct strset *s, const char *key)
{
	size_t i = (size_t)hash(key) & (s->cap - 1);
	while (s->keys[i] && strcmp(s->keys[i], key) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void grow(struct strset *s)
{
	struct strset g = { .cap = s->cap ? s->cap * 2 : 64 };
	g.keys = xcalloc(g.cap, sizeof *g.keys);
	g.vals = xcalloc(g.cap, sizeof *g.vals);
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		size_t k = slot(&g, s->keys[i]);
		g.keys[k] = s->keys[i];
		g.vals[k] = s->vals[i];
	}
	g.n = s->n;
	free(s->keys);
	free(s->vals);
	*s = g;
}

bool strset_put(struct strset *s, const char *key, size_t val)
{
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	size_t k = slot(s, key);
	if (s->keys[k])
		return false;
	s->keys[k] = key;
	s->vals[k] = val;
	s->n++;
	return true;
}

bool strset_get(const struct strset *s, const char *key, size_t *val)
{
	if (!s->n)
		return false;
	size_t k = slot(s, key);
	if (!s->keys[k])
		return false;
	if (val)
		*val = s->vals[k];
	return true;
}

void strset_free(struct strset *s)
{
	free(s->keys);
	free(s->vals);
	s->keys = NULL;
	s->vals = NULL;
	s->cap = s->n = 0;
}
