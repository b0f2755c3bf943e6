/* job_index.c - the jobs by (kind, name) and by serial: two chained hash tables
 * that grow by doubling, so ls -l jobs/ with 10,000 jobs does one lookup per
 * entry instead of a walk of the whole list.
 *
 *   job_index_find(JOB_VIDEO, "cat")  ->  bucket hash("v" "cat") -> j
 */
#include "job_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct node {
	struct job *j;
	struct node *next;
};

struct table {
	struct node **b;
	size_t cap, n; /* cap: a power of two */
};

static struct table by_name, by_serial;

static uint64_t name_hash(enum job_kind kind, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)kind; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static uint64_t serial_hash(unsigned serial)
{
	uint64_t h = serial;
	h ^= h >> 16;
	h *= 0x45d9f3bull;
	h ^= h >> 16;
	return h;
}

static uint64_t hash_of(const struct table *t, const struct job *j)
{
	return t == &by_name ? name_hash(j->kind, j->name) : serial_hash(j->serial);
}

static void insert(struct table *t, struct job *j);

static void grow(struct table *t)
{
	size_t old_cap = t->cap;
	struct node **old = t->b;
	t->cap = old_cap ? old_cap * 2 : 64;
	t->b = xcalloc(t->cap, sizeof *t->b);
	t->n = 0;
	for (size_t i = 0; i < old_cap; i++) {
		for (struct node *nd = old[i], *next; nd; nd = next) {
			next = nd->next;
			size_t k = hash_of(t, nd->j) & (t->cap - 1);
			nd->next = t->b[k];
			t->b[k] = nd;
			t->n++;
		}
	}
	free(old);
}

static void insert(struct table *t, struct job *j)
{
	if (t->n + 1 > t->cap)
		grow(t);
	size_t k = hash_of(t, j) & (t->cap - 1);
	struct node *nd = xcalloc(1, sizeof *nd);
	nd->j = j;
	nd->next = t->b[k];
	t->b[k] = nd;
	t->n++;
}

static void erase(struct table *t, struct job *j)
{
	if (!t->cap)
		return;
	size_t k = hash_of(t, j) & (t->cap - 1);
	for (struct node **pp = &t->b[k]; *pp; pp = &(*pp)->next) {
		if ((*pp)->j == j) {
			struct node *nd = *pp;
			*pp = nd->next;
			free(nd);
			t->n--;
			return;
		}
	}
}

void job_index_add(struct job *j)
{
	insert(&by_name, j);
	insert(&by_serial, j);
}

void job_index_remove(struct job *j)
{
	erase(&by_name, j);
	erase(&by_serial, j);
}

struct job *job_index_find(enum job_kind kind, const char *name)
{
	if (!by_name.cap)
		return NULL;
	size_t k = name_hash(kind, name) & (by_name.cap - 1);
	for (struct node *nd = by_name.b[k]; nd; nd = nd->next)
		if (nd->j->kind == kind && strcmp(nd->j->name, name) == 0)
			return nd->j;
	return NULL;
}

struct job *job_index_serial(unsigned serial)
{
	if (!by_serial.cap)
		return NULL;
	size_t k = serial_hash(serial) & (by_serial.cap - 1);
	for (struct node *nd = by_serial.b[k]; nd; nd = nd->next)
		if (nd->j->serial == serial)
			return nd->j;
	return NULL;
}

static void clear(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		for (struct node *nd = t->b[i], *next; nd; nd = next) {
			next = nd->next;
			free(nd);
		}
	}
	free(t->b);
	memset(t, 0, sizeof *t);
}

void job_index_clear(void)
{
	clear(&by_name);
	clear(&by_serial);
}
