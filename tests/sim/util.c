/*
 * util.c - small helpers for sora2-sim: the single state mutex, clocks,
 * a sleep that shutdown interrupts, random ids, key masking and the log.
 *
 *   $ sora2-sim --gen-time 1 2>&1 | head -1
 *   sora2-sim: listening on http://127.0.0.1:40123
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake;
static pthread_once_t g_wake_once = PTHREAD_ONCE_INIT;
static bool g_shutdown;
static bool g_quiet;

static void wake_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&g_wake, &a);
	pthread_condattr_destroy(&a);
}

void sim_lock(void)
{
	pthread_mutex_lock(&g_mutex);
}

void sim_unlock(void)
{
	pthread_mutex_unlock(&g_mutex);
}

double sim_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sim_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool sim_sleep_locked(double seconds)
{
	pthread_once(&g_wake_once, wake_init);
	double until = sim_now() + (seconds > 0 ? seconds : 0);
	while (!g_shutdown) {
		double now = sim_now();
		if (now >= until)
			return true;
		struct timespec ts;
		ts.tv_sec = (time_t)floor(until);
		ts.tv_nsec = (long)((until - floor(until)) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g_wake, &g_mutex, &ts);
	}
	return false;
}

bool sim_sleep(double seconds)
{
	sim_lock();
	bool ok = sim_sleep_locked(seconds);
	sim_unlock();
	return ok;
}

void sim_begin_shutdown(void)
{
	pthread_once(&g_wake_once, wake_init);
	sim_lock();
	g_shutdown = true;
	pthread_cond_broadcast(&g_wake);
	sim_unlock();
}

bool sim_shutting_down(void)
{
	sim_lock();
	bool s = g_shutdown;
	sim_unlock();
	return s;
}

void sim_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			/* Not expected on Linux; ids need not be secure anyway. */
			for (size_t i = 0; i < n; i++)
				p[i] = (unsigned char)rand();
			return;
		}
		p += got;
		n -= (size_t)got;
	}
}

void sim_random_hex(char *out, size_t nchars)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	size_t done = 0;
	while (done < nchars) {
		size_t chunk = nchars - done < sizeof b ? nchars - done : sizeof b;
		sim_random(b, chunk);
		for (size_t i = 0; i < chunk; i++)
			out[done + i] = hex[b[i] & 15];
		done += chunk;
	}
	out[nchars] = '\0';
}

void sim_random_alnum(char *out, size_t nchars)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char b[64];
	size_t done = 0;
	while (done < nchars) {
		size_t chunk = nchars - done < sizeof b ? nchars - done : sizeof b;
		sim_random(b, chunk);
		for (size_t i = 0; i < chunk; i++)
			out[done + i] = set[b[i] % (sizeof set - 1)];
		done += chunk;
	}
	out[nchars] = '\0';
}

void sim_random_uuid(char out[37])
{
	unsigned char b[16];
	sim_random(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

char *sim_mask_key(const char *key)
{
	if (!key || !*key)
		return sim_strdup("");
	size_t n = strlen(key);
	if (n <= 10)
		return sim_strdup("sk-\xe2\x80\xa6"); /* too short to show any of it */
	char *out = sim_xmalloc(6 + 3 + 4 + 1);
	memcpy(out, key, 6);
	memcpy(out + 6, "\xe2\x80\xa6", 3);
	memcpy(out + 9, key + n - 4, 4);
	out[13] = '\0';
	return out;
}

void sim_set_quiet(bool quiet)
{
	g_quiet = quiet;
}

void sim_log(const char *fmt, ...)
{
	if (g_quiet)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "sora2-sim: %s\n", line);
}

void *sim_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("sora2-sim: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *sim_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = sim_xmalloc(n);
	memcpy(p, s, n);
	return p;
}
