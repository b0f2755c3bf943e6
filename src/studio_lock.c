/* studio_lock.c - one sora2fs per studio (see studio_lock.h).
 *
 * data/.sora2fs.lock holds "PID\nMOUNTPOINT\n" of the mount that owns the studio:
 * only words for the message a second mount prints; the flock is what counts.
 */
#include "studio_lock.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME ".sora2fs.lock"

static int lock_fd = -1;
static char *lock_mnt;

static void write_owner(void)
{
	if (lock_fd < 0)
		return;
	char *text = xasprintf("%ld\n%s\n", (long)getpid(), lock_mnt ? lock_mnt : "");
	/* Words for another mount's message only: a failure here is harmless. */
	if (ftruncate(lock_fd, 0) == 0) {
		size_t n = strlen(text);
		ssize_t w = pwrite(lock_fd, text, n, 0);
		(void)w;
	}
	free(text);
}

/* "PID 4242, on /mnt/x" from the lock file, or NULL when it says nothing usable. */
static char *owner_words(int fd)
{
	char buf[4200];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (!nl)
		return NULL;
	*nl = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	if (end == buf || *end || pid <= 0)
		return NULL;
	char *mnt = nl + 1;
	char *nl2 = strchr(mnt, '\n');
	if (nl2)
		*nl2 = '\0';
	if (*mnt)
		return xasprintf("PID %ld, on %s", pid, mnt);
	return xasprintf("PID %ld", pid);
}

int studio_lock_take(const char *studio_dir, const char *mountpoint, char **err)
{
	char *data = xasprintf("%s/data", studio_dir);
	if (mkdir(data, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		*err = xasprintf("cannot create %s: %s", data, strerror(e));
		free(data);
		return -e;
	}
	char *path = xasprintf("%s/%s", data, LOCK_NAME);
	free(data);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		*err = xasprintf("cannot open %s: %s", path, strerror(e));
		free(path);
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			char *who = owner_words(fd);
			const char *mnt = NULL;
			if (who) {
				mnt = strstr(who, ", on ");
				mnt = mnt ? mnt + 5 : NULL;
			}
			*err = xasprintf("%s is already in use by another sora2fs%s%s%s: one studio "
					 "has one mount; unmount it first%s%s",
					 studio_dir, who ? " (" : "", who ? who : "", who ? ")" : "",
					 mnt ? " with: fusermount3 -u " : "", mnt ? mnt : "");
			free(who);
			e = EBUSY;
		} else {
			*err = xasprintf("cannot lock %s: %s", path, strerror(e));
		}
		close(fd);
		free(path);
		return -e;
	}
	free(path);
	lock_fd = fd;
	free(lock_mnt);
	lock_mnt = xstrdup(mountpoint);
	write_owner();
	return 0;
}

void studio_lock_update_pid(void)
{
	write_owner();
}

void studio_lock_release(void)
{
	if (lock_fd >= 0) {
		/* Emptied first, so the file never names a mount that is gone. */
		if (ftruncate(lock_fd, 0) < 0) {
			/* nothing to do: the lock goes with the close */
		}
		close(lock_fd);
		lock_fd = -1;
	}
	free(lock_mnt);
	lock_mnt = NULL;
}
