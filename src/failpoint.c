/* failpoint.c - named crash points for the crash tests (see failpoint.h).
 *
 *   SORA2FS_FAILPOINT=renamed:history.json:2   exit at the 2nd history.json save
 */
#include "failpoint.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int hits;

void failpoint2(const char *prefix, const char *name)
{
	const char *fp = getenv("SORA2FS_FAILPOINT");
	if (!fp || !*fp)
		return;
	size_t lp = strlen(prefix), ln = strlen(name);
	if (strncmp(fp, prefix, lp) != 0 || strncmp(fp + lp, name, ln) != 0)
		return;
	const char *rest = fp + lp + ln;
	int want = 1;
	if (*rest == ':')
		want = atoi(rest + 1);
	else if (*rest)
		return;
	if (atomic_fetch_add(&hits, 1) + 1 >= want)
		_exit(99); /* like kill -9: no cleanup, no flush */
}

void failpoint(const char *name)
{
	failpoint2("", name);
}
