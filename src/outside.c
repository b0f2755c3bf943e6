/* outside.c - outside edits of data/config.json and data/history.json (see outside.h). */
#include "outside.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "notify.h"
#include "studio.h"
#include "util.h"

static struct {
	pthread_t thread;
	bool running;
	int ino, stop_fd;
} o = { .ino = -1, .stop_fd = -1 };

/* Our own saves are noted just after their rename, so the event of one can
 * arrive first: look again for a moment before calling it someone else's. */
static bool own_write_soon(enum studio_file f)
{
	for (int i = 0; i < 5; i++) {
		if (studio_is_own_write(f))
			return true;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return studio_is_own_write(f);
}

static void reload(enum studio_file f)
{
	if (own_write_soon(f))
		return;
	cJSON *json = NULL;
	char *err = NULL;
	int r = studio_load(f, &json, &err);
	if (r < 0) {
		/* half-written or broken: keep what we have; the next write is seen */
		log_warn("%s changed on disk but cannot be used: %s", studio_file_path(f),
			 err ? err : strerror(-r));
		free(err);
		return;
	}
	bool changed = f == SF_CONFIG ? model_outside_config(json) : model_outside_history(json);
	if (!changed)
		return;
	log_info("%s was changed by another program: the mount shows the new version",
		 studio_file_path(f));
	if (f == SF_CONFIG) {
		notify_modified("/config/api_key");
		notify_modified("/config/token");
		notify_modified("/config/host_mode");
	}
}

static void *outside_main(void *arg)
{
	(void)arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		struct pollfd p[2] = { { o.ino, POLLIN, 0 }, { o.stop_fd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		ssize_t n = read(o.ino, buf, sizeof buf);
		if (n <= 0)
			continue;
		bool config = false, history = false;
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			if (ev->len && strcmp(ev->name, "config.json") == 0)
				config = true;
			if (ev->len && strcmp(ev->name, "history.json") == 0)
				history = true;
			q += sizeof *ev + ev->len;
		}
		if (config)
			reload(SF_CONFIG);
		if (history)
			reload(SF_HISTORY);
	}
	return NULL;
}

int outside_start(const char *studio_dir)
{
	o.ino = inotify_init1(IN_CLOEXEC);
	if (o.ino < 0)
		return -errno;
	char *data = xasprintf("%s/data", studio_dir);
	int wd = inotify_add_watch(o.ino, data, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
	int r = wd < 0 ? -errno : 0;
	free(data);
	if (r == 0) {
		o.stop_fd = eventfd(0, EFD_CLOEXEC);
		if (o.stop_fd < 0)
			r = -errno;
	}
	if (r == 0)
		r = -pthread_create(&o.thread, NULL, outside_main, NULL);
	if (r < 0) {
		close(o.ino);
		o.ino = -1;
		if (o.stop_fd >= 0)
			close(o.stop_fd);
		o.stop_fd = -1;
		return r;
	}
	o.running = true;
	return 0;
}

void outside_stop(void)
{
	if (!o.running)
		return;
	uint64_t one = 1;
	if (write(o.stop_fd, &one, sizeof one) < 0)
		log_debug("outside: %s", strerror(errno));
	pthread_join(o.thread, NULL);
	close(o.ino);
	close(o.stop_fd);
	o.ino = o.stop_fd = -1;
	o.running = false;
}
