/* test_local_ref.c - what a local reference may be: regular files only, never
 * inside the mount, readable by the user who dropped it (by mode bits).
 *
 *   $ meson test unit-local_ref
 */
#include "check.h"
#include "local_ref.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/unit-local-ref-XXXXXX";

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void make_file(const char *name, const char *text, mode_t mode)
{
	char *p = path_in(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0) {
			/* checked by the reads below */
		}
		close(fd);
	}
	chmod(p, mode);
	free(p);
}

static int try_read(const char *name, const struct local_ref_cred *c, char **err)
{
	char *p = name[0] == '/' ? xstrdup(name) : path_in(name);
	char *data = NULL;
	size_t len = 0;
	*err = NULL;
	int r = local_ref_read(p, c, &data, &len, err);
	if (r == 0)
		CHECK(data && len > 0);
	free(data);
	free(p);
	return r;
}

static void test_types(void)
{
	char *err;
	make_file("a.png", "png bytes", 0644);
	CHECK(try_read("a.png", NULL, &err) == 0);
	free(err);

	char *fifo = path_in("fifo");
	CHECK(mkfifo(fifo, 0644) == 0);
	free(fifo);
	CHECK(try_read("fifo", NULL, &err) == -EINVAL);
	CHECK(err && strstr(err, "FIFO"));
	free(err);

	CHECK(try_read("/dev/null", NULL, &err) == -EINVAL);
	CHECK(err && strstr(err, "device"));
	free(err);

	CHECK(try_read("", NULL, &err) < 0); /* the folder itself */
	free(err);

	char *link = path_in("link.png");
	CHECK(symlink("a.png", link) == 0);
	free(link);
	CHECK(try_read("link.png", NULL, &err) == -EINVAL);
	CHECK(err && strstr(err, "symbolic link"));
	free(err);

	/* links in the middle are followed */
	char *sub = path_in("sub");
	CHECK(mkdir(sub, 0755) == 0);
	free(sub);
	char *dlink = path_in("dlink");
	CHECK(symlink(".", dlink) == 0);
	free(dlink);
	CHECK(try_read("dlink/a.png", NULL, &err) == 0);
	free(err);
	CHECK(try_read("sub/../a.png", NULL, &err) == 0);
	free(err);

	make_file("empty", "", 0644);
	CHECK(try_read("empty", NULL, &err) == -EINVAL);
	CHECK(err && strstr(err, "empty"));
	free(err);
}

static void test_inside_mount(void)
{
	char *err;
	/* Pretend the folder's "sub" is the mount: nothing in it, nor reached
	 * through a link, is read. */
	char *mnt = path_in("sub");
	local_ref_set_mount(mnt, 0);
	make_file("sub/x.png", "x", 0644);
	CHECK(try_read("sub/x.png", NULL, &err) == -EINVAL);
	CHECK(err && strstr(err, "inside the mount"));
	free(err);
	char *l = path_in("tosub");
	CHECK(symlink(mnt, l) == 0);
	free(l);
	CHECK(try_read("tosub/x.png", NULL, &err) == -EINVAL);
	CHECK(err && strstr(err, "inside the mount"));
	free(err);
	CHECK(try_read("sub/../sub/x.png", NULL, &err) == -EINVAL);
	free(err);
	CHECK(try_read("a.png", NULL, &err) == 0);
	free(err);
	local_ref_set_mount(NULL, 0);
	free(mnt);
}

static void test_credentials(void)
{
	char *err;
	struct local_ref_cred other = { .known = true, .uid = 4242421, .gid = 4242421 };
	struct local_ref_cred grouped = other;
	grouped.ngroups = 1;
	grouped.groups[0] = getgid();

	make_file("open.png", "x", 0644);
	make_file("private.png", "x", 0600);
	make_file("group.png", "x", 0640);
	CHECK(try_read("open.png", &other, &err) == 0);
	free(err);
	CHECK(try_read("private.png", &other, &err) == -EACCES);
	CHECK(err && strstr(err, "may not read"));
	free(err);
	CHECK(try_read("group.png", &other, &err) == -EACCES);
	free(err);
	CHECK(try_read("group.png", &grouped, &err) == 0);
	free(err);
	/* the owner itself */
	struct local_ref_cred me = { .known = true, .uid = getuid(), .gid = getgid() };
	CHECK(try_read("private.png", &me, &err) == 0);
	free(err);
	/* a folder the user may not search */
	char *closed = path_in("closed");
	CHECK(mkdir(closed, 0700) == 0);
	free(closed);
	make_file("closed/in.png", "x", 0644);
	CHECK(try_read("closed/in.png", &other, &err) == -EINVAL);
	CHECK(err && strstr(err, "Permission denied"));
	free(err);
	if (geteuid() == 0) {
		/* a root daemon must not read /etc/shadow for an ordinary user */
		struct stat sb;
		if (stat("/etc/shadow", &sb) == 0 && (sb.st_mode & 04) == 0) {
			CHECK(try_read("/etc/shadow", &other, &err) < 0);
			free(err);
		}
	}
}

static void cleanup(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		/* best effort */
	}
	free(cmd);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(dir, 0755); /* "other" users must be able to search it */
	RUN(test_types);
	RUN(test_inside_mount);
	RUN(test_credentials);
	cleanup();
	return check_report("unit-local_ref");
}
