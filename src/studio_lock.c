/* studio_lock.c - one sora2fs per studio (see studio_lock.h).
 *
 * The lock is flock(2) on the STUDIO_DIR/data directory itself, so a refused or
 * failed start leaves data/ exactly as it was. Who holds it is written, once the
 * studio is loaded, to data/sora2fs/mount ("PID\nMOUNTPOINT\n"): only words for
 * the message a second mount prints; the flock is what counts.
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

#define OWNER_FILE "sora2fs/mount"

static int lock_fd = -1;
static char *owner_path;  /* data/sora2fs/mount */
static char *lock_mnt;

/* "PID 4242, on /mnt/x" from the owner file, or NULL when it says nothing usable. */
static char *owner_words(const char *path, char **mnt_out)
{
	char *text = NULL;
	size_t len = 0;
	*mnt_out = NULL;
	if (read_file(path, 8192, &text, &len) < 0)
		return NULL;
	char *nl = strchr(text, '\n');
	char *end;
	long pid = nl ? strtol(text, &end, 10) : 0;
	if (!nl || end != nl || pid <= 0) {
		free(text);
		return NULL;
	}
	char *mnt = nl + 1;
	char *nl2 = strchr(mnt, '\n');
	if (nl2)
		*nl2 = '\0';
	char *w;
	if (*mnt) {
		w = xasprintf("PID %ld, on %s", pid, mnt);
		*mnt_out = xstrdup(mnt);
	} else {
		w = xasprintf("PID %ld", pid);
	}
	free(text);
	return w;
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
	int fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		*err = xasprintf("cannot open %s: %s", data, strerror(e));
		free(data);
		return -e;
	}
	char *owner = xasprintf("%s/%s", data, OWNER_FILE);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			char *mnt = NULL;
			char *who = owner_words(owner, &mnt);
			*err = xasprintf("%s is already in use by another sora2fs%s%s%s: one studio "
					 "has one mount; unmount it first%s%s",
					 studio_dir, who ? " (" : "", who ? who : "", who ? ")" : "",
					 mnt ? " with: fusermount3 -u " : "", mnt ? mnt : "");
			free(who);
			free(mnt);
			e = EBUSY;
		} else {
			*err = xasprintf("cannot lock %s: %s", data, strerror(e));
		}
		close(fd);
		free(owner);
		free(data);
		return -e;
	}
	free(data);
	lock_fd = fd;
	free(owner_path);
	owner_path = owner;
	free(lock_mnt);
	lock_mnt = xstrdup(mountpoint);
	return 0;
}

void studio_lock_publish(void)
{
	if (lock_fd < 0 || !owner_path)
		return;
	/* Words for another mount's message only: a failure here is harmless. */
	char *text = xasprintf("%ld\n%s\n", (long)getpid(), lock_mnt ? lock_mnt : "");
	int fd = open(owner_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		ssize_t w = write(fd, text, strlen(text));
		(void)w;
		close(fd);
	}
	free(text);
}

void studio_lock_release(void)
{
	if (lock_fd >= 0) {
		if (owner_path)
			unlink(owner_path); /* never names a mount that is gone */
		close(lock_fd);
		lock_fd = -1;
	}
	free(owner_path);
	owner_path = NULL;
	free(lock_mnt);
	lock_mnt = NULL;
}
