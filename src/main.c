/* main.c - the sora2fs command line: options, start-up, the FUSE loop, shutdown.
 *
 *   $ sora2fs ~/studio ~/sora                       (or just: sora2fs ~/sora)
 *   $ echo sk-… > ~/sora/config/api_key
 *   $ printf -- '---\nduration: 15\n---\na cat on a piano\n' > ~/sora/jobs/cat.txt
 *   $ cat ~/sora/jobs/cat/status
 *   running
 *   $ ls ~/sora/videos/                             (a minute or two later)
 *   cat.mp4
 *   $ fusermount3 -u ~/sora
 *
 * Against the simulator, in the foreground with debug messages:
 *
 *   $ build/tests/sim/sora2-sim --port 0 --port-file /tmp/p &
 *   $ sora2fs -f -o api_url=http://127.0.0.1:$(cat /tmp/p),verbose /tmp/studio /tmp/mnt
 *
 * The order of start-up matters: the studio is loaded before mounting, so a bad
 * studio refuses to mount with its reason on stderr; the engine thread starts
 * after daemonizing, because fork() keeps only the calling thread.
 */
#include "engine.h"
#include "fs.h"
#include "json_file.h"
#include "local_ref.h"
#include "log.h"
#include "model.h"
#include "writer.h"
#include "notify.h"
#include "outside.h"
#include "options.h"
#include "poll_plan.h"
#include "studio_lock.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef SORA2FS_VERSION
#define SORA2FS_VERSION "unknown"
#endif

/* The command line as given; turned into struct options once parsed. Numbers are
 * kept as text so that a bad value gets our own message. */
struct cli {
	char *api_url;
	char *domestic_url;
	char *overseas_url;
	char *downloads;
	char *poll_interval;
	char *max_active;
	char *timeout;
	char *connect_timeout;
	char *stall_timeout;
	char *max_video_size;
	char *updates;
	char *logfile;
	int verbose;
	char *args[2];   /* [STUDIO_DIR] MOUNTPOINT */
	int nargs;
	int has_fsname;
	int has_subtype;
	int allow_other;      /* allow_other or allow_root: others may enter */
	int default_permissions;
};

enum { KEY_FSNAME, KEY_SUBTYPE, KEY_ALLOW_OTHER, KEY_DEFAULT_PERMISSIONS };

#define CLI_OPT(t, field, v) { t, offsetof(struct cli, field), v }

static const struct fuse_opt cli_opts[] = {
	CLI_OPT("api_url=%s", api_url, 0),
	CLI_OPT("domestic_url=%s", domestic_url, 0),
	CLI_OPT("overseas_url=%s", overseas_url, 0),
	CLI_OPT("downloads=%s", downloads, 0),
	CLI_OPT("poll_interval=%s", poll_interval, 0),
	CLI_OPT("max_active=%s", max_active, 0),
	CLI_OPT("timeout=%s", timeout, 0),
	CLI_OPT("connect_timeout=%s", connect_timeout, 0),
	CLI_OPT("stall_timeout=%s", stall_timeout, 0),
	CLI_OPT("max_video_size=%s", max_video_size, 0),
	CLI_OPT("updates=%s", updates, 0),
	CLI_OPT("logfile=%s", logfile, 0),
	CLI_OPT("verbose", verbose, 1),
	/* Options that only mean something to mount(8) and /etc/fstab. */
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	/* Noted, and passed on to libfuse. */
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("allow_root", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	FUSE_OPT_END
};

static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli *c = data;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		/* fuse_parse_cmdline takes one argument, the mountpoint: the leading
		 * STUDIO_DIR (for fstab and mount -t fuse.sora2fs) is ours. */
		if (c->nargs == 2) {
			fprintf(stderr, "sora2fs: error: too many arguments: '%s'\n"
				"usage: sora2fs [options] [STUDIO_DIR] MOUNTPOINT\n", arg);
			return -1;
		}
		c->args[c->nargs++] = xstrdup(arg);
		return 0;
	case KEY_FSNAME:
		c->has_fsname = 1;
		return 1;
	case KEY_SUBTYPE:
		c->has_subtype = 1;
		return 1;
	case KEY_ALLOW_OTHER:
		c->allow_other = 1;
		return 1;
	case KEY_DEFAULT_PERMISSIONS:
		c->default_permissions = 1;
		return 1;
	default:
		return 1; /* everything else is libfuse's */
	}
}

static void cli_free(struct cli *c)
{
	free(c->api_url);
	free(c->domestic_url);
	free(c->overseas_url);
	free(c->downloads);
	free(c->poll_interval);
	free(c->max_active);
	free(c->timeout);
	free(c->connect_timeout);
	free(c->stall_timeout);
	free(c->max_video_size);
	free(c->updates);
	free(c->logfile);
	for (int i = 0; i < c->nargs; i++)
		free(c->args[i]);
}

static void usage(const char *progname)
{
	printf("usage: %s [options] [STUDIO_DIR] MOUNTPOINT\n"
	       "\n"
	       "Sora 2 video generation as files: write a prompt into MOUNTPOINT/jobs/,\n"
	       "find the video in MOUNTPOINT/videos/. See MOUNTPOINT/README and sora2fs(8).\n"
	       "STUDIO_DIR holds data/ and downloads/ as the Web Studio lays them out;\n"
	       "default $XDG_DATA_HOME/sora2fs (~/.local/share/sora2fs), created if missing.\n"
	       "\n"
	       "sora2fs options:\n"
	       "    -o api_url=URL          send every API call to this base URL\n"
	       "    -o domestic_url=URL     replace the built-in domestic host\n"
	       "    -o overseas_url=URL     replace the built-in overseas host\n"
	       "    -o poll_interval=SECS   time between polls of a running task (default 5)\n"
	       "    -o max_active=N         most tasks running upstream at once (default 4)\n"
	       "    -o downloads=DIR        keep videos in DIR (default STUDIO_DIR/downloads)\n"
	       "    -o timeout=SECS         total time for one API call (default 30)\n"
	       "    -o connect_timeout=SECS time to connect to a host (default 10)\n"
	       "    -o stall_timeout=SECS   abort a download below 1 KiB/s for this long\n"
	       "                            (default 60)\n"
	       "    -o max_video_size=MIB   refuse to download a bigger video (default 4096)\n"
	       "    -o updates=poll|stream  how a running task's state arrives: poll it by id\n"
	       "                            (default), or keep each submit's streamed answer\n"
	       "                            open (a dropped stream falls back to polling)\n"
	       "    -o logfile=PATH         append the log to PATH (instead of syslog)\n"
	       "    -o verbose              debug messages in the log\n"
	       "    auto, noauto, user, users, nofail, _netdev (fstab) are accepted and ignored\n"
	       "\n", progname);
}

/* --- turning the command line into options -------------------------------------- */

/* A number of seconds > 0 (fractions allowed). 0, or -1 after saying why. */
static int parse_seconds(const char *name, const char *text, double def, double *out)
{
	*out = def;
	if (!text)
		return 0;
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	/* The range check also refuses NaN and infinity. */
	if (end == text || *end || errno || !(v > 0 && v <= 1e7)) {
		log_error("%s must be a number of seconds greater than 0 (got '%s')", name, text);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_count(const char *name, const char *text, int def, int max, int *out)
{
	*out = def;
	if (!text)
		return 0;
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (end == text || *end || errno || v < 1 || v > max) {
		log_error("%s must be a whole number from 1 to %d (got '%s')", name, max, text);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* path made absolute against the current directory (daemonizing chdirs to /). */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char *cwd = getcwd(NULL, 0);
	if (!cwd) {
		log_error("cannot find the current directory: %s", strerror(errno));
		return NULL;
	}
	char *p = xasprintf("%s/%s", cwd, path);
	free(cwd);
	return p;
}

static char *default_studio(void)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && xdg[0] == '/') /* the spec says relative values are ignored */
		return xasprintf("%s/sora2fs", xdg);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home) {
		log_error("no STUDIO_DIR given and no home directory to default to");
		return NULL;
	}
	return xasprintf("%s/.local/share/sora2fs", home);
}

/* STUDIO_DIR: created if missing, then its real absolute path. */
static char *studio_path(const char *given)
{
	char *abs = given ? absolute(given) : default_studio();
	if (!abs)
		return NULL;
	int r = mkdir_p(abs, 0700);
	if (r < 0) {
		log_error("cannot create %s: %s", abs, strerror(-r));
		free(abs);
		return NULL;
	}
	char *real = realpath(abs, NULL);
	if (!real)
		log_error("%s: %s", abs, strerror(errno));
	free(abs);
	return real;
}

/* -o downloads=DIR: relative to the current directory; resolved if it exists. */
static char *downloads_path(const char *given, const char *studio)
{
	if (!given)
		return xasprintf("%s/downloads", studio);
	char *abs = absolute(given);
	if (!abs)
		return NULL;
	char *real = realpath(abs, NULL);
	if (real) {
		free(abs);
		return real;
	}
	return abs;
}

/* -ofsname=STUDIO_DIR (absolute, as given: mount -a compares it with fstab's),
 * with the commas and backslashes that fuse_opt would split on escaped. */
static int add_fsname(struct fuse_args *args, const char *studio_arg)
{
	char *studio = studio_arg ? absolute(studio_arg) : default_studio();
	if (!studio)
		studio = xstrdup("sora2fs");
	size_t n = strlen(studio);
	while (n > 1 && studio[n - 1] == '/')
		studio[--n] = '\0';
	buf_t b;
	buf_init(&b);
	buf_adds(&b, "-ofsname=");
	for (const char *p = studio; *p; p++) {
		if (*p == ',' || *p == '\\')
			buf_add(&b, "\\", 1);
		buf_add(&b, p, 1);
	}
	free(studio);
	char *opt = buf_steal(&b);
	int r = fuse_opt_add_arg(args, opt);
	free(opt);
	return r;
}

static bool path_inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0' ||
					      (n == 1 && dir[0] == '/'));
}

/* updates=stream holds one connection per running task for minutes: take the
 * hard limit of open files, so many streams never run out of descriptors. */
static void raise_open_files(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open file limit: %s", strerror(errno));
	}
}

/* Numbers and URLs: checked before anything is created. */
static int options_fill(const struct cli *c, struct options *opt)
{
	if (parse_seconds("poll_interval", c->poll_interval, 5, &opt->poll_interval) < 0 ||
	    parse_count("max_active", c->max_active, 4, 1000, &opt->max_active) < 0 ||
	    parse_seconds("timeout", c->timeout, 30, &opt->timeout) < 0 ||
	    parse_seconds("connect_timeout", c->connect_timeout, 10, &opt->connect_timeout) < 0 ||
	    parse_seconds("stall_timeout", c->stall_timeout, 60, &opt->stall_timeout) < 0)
		return -1;
	opt->poll_cap = c->poll_interval ? opt->poll_interval : POLL_PLAN_CAP;
	int mib;
	if (parse_count("max_video_size", c->max_video_size, 4096, 1024 * 1024, &mib) < 0)
		return -1;
	opt->max_video_size = (long long)mib << 20;
	if (!c->updates || strcmp(c->updates, "poll") == 0) {
		opt->stream = false;
	} else if (strcmp(c->updates, "stream") == 0) {
		opt->stream = true;
	} else {
		log_error("updates must be poll or stream (got '%s')", c->updates);
		return -1;
	}
	static const char *const url_names[] = { "api_url", "domestic_url", "overseas_url" };
	const char *urls[] = { c->api_url, c->domestic_url, c->overseas_url };
	for (int i = 0; i < 3; i++) {
		if (urls[i] && !str_has_prefix(urls[i], "http://") &&
		    !str_has_prefix(urls[i], "https://")) {
			log_error("%s must start with http:// or https:// (got '%s')",
				  url_names[i], urls[i]);
			return -1;
		}
	}
	opt->verbose = c->verbose;
	opt->api_url = xstrdup(c->api_url);
	opt->domestic_url = xstrdup(c->domestic_url);
	opt->overseas_url = xstrdup(c->overseas_url);
	return 0;
}

/* STUDIO_DIR (created) and the downloads folder, as absolute paths. */
static int options_paths(const struct cli *c, const char *studio_arg, const char *mountpoint,
			 struct options *opt)
{
	opt->studio_dir = studio_path(studio_arg);
	if (!opt->studio_dir)
		return -1;
	opt->downloads_dir = downloads_path(c->downloads, opt->studio_dir);
	if (!opt->downloads_dir)
		return -1;
	/* The daemon reading its own mount would wait on itself. */
	if (path_inside(opt->studio_dir, mountpoint) || path_inside(opt->downloads_dir, mountpoint)) {
		log_error("STUDIO_DIR and downloads= must not be inside MOUNTPOINT %s", mountpoint);
		return -1;
	}
	return 0;
}

static void options_free(struct options *opt)
{
	free(opt->studio_dir);
	free(opt->downloads_dir);
	free(opt->api_url);
	free(opt->domestic_url);
	free(opt->overseas_url);
}

/* --- the loop ------------------------------------------------------------------ */

static int run_loop(struct fuse *f, const struct fuse_cmdline_opts *fo)
{
	if (fo->singlethread)
		return fuse_loop(f);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)fo->clone_fd);
	/* libfuse's "unset" is UINT_MAX; keep a few idle threads rather than all. */
	fuse_loop_cfg_set_idle_threads(cfg, fo->max_idle_threads == UINT_MAX ? 10
					    : fo->max_idle_threads);
	fuse_loop_cfg_set_max_threads(cfg, fo->max_threads);
	int r = fuse_loop_mt(f, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fo;
	struct cli cli;
	struct options opt;
	struct fuse *f = NULL;
	bool notify_started = false;
	bool model_up = false;
	char *err = NULL;
	int ret = 1;

	json_init_hooks();
	memset(&fo, 0, sizeof fo);
	memset(&cli, 0, sizeof cli);
	memset(&opt, 0, sizeof opt);
	log_init(false, LOG_LVL_INFO);

	if (fuse_opt_parse(&args, &cli, cli_opts, cli_proc) < 0)
		goto out_args;
	const char *studio_arg = cli.nargs == 2 ? cli.args[0] : NULL;
	const char *mnt_arg = cli.nargs >= 1 ? cli.args[cli.nargs - 1] : NULL;
	if (mnt_arg) {
		if (mnt_arg[0] == '-' && fuse_opt_add_arg(&args, "--") < 0)
			goto out_args;
		if (fuse_opt_add_arg(&args, mnt_arg) < 0)
			goto out_args;
	}
	/* Others let in see the modes sora2fs shows, enforced by the kernel: config/,
	 * account/ and starting jobs stay the mounting user's (README: Sharing). */
	if (cli.allow_other && !cli.default_permissions &&
	    fuse_opt_add_arg(&args, "-odefault_permissions") < 0)
		goto out_args;
	/* The mount's source is the studio (df, findmnt; mount -a compares it with
	 * the fstab line), its type fuse.sora2fs. */
	if (!cli.has_fsname && add_fsname(&args, studio_arg) < 0)
		goto out_args;
	if (!cli.has_subtype && fuse_opt_add_arg(&args, "-osubtype=sora2fs") < 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &fo) < 0)
		goto out_args;

	if (fo.show_version) {
		printf("sora2fs version %s\n", SORA2FS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fflush(stdout); /* what follows comes partly from fusermount3 */
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (fo.show_help) {
		usage(argv[0]);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fflush(stdout);
		fuse_lib_help(&args);
		ret = 0;
		goto out_args;
	}
	if (!fo.mountpoint) {
		fprintf(stderr, "sora2fs: error: no mountpoint given\n"
			"usage: sora2fs [options] [STUDIO_DIR] MOUNTPOINT (see sora2fs --help)\n");
		goto out_args;
	}

	enum log_level level = (cli.verbose || fo.debug) ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	log_init(false, level);
	if (cli.logfile) {
		char *path = absolute(cli.logfile); /* daemonizing chdirs to / */
		int lr = path ? log_set_file(path) : -ENOMEM;
		if (lr < 0)
			log_error("logfile=%s: %s", cli.logfile, strerror(-lr));
		free(path);
		if (lr < 0)
			goto out_opts;
	}
	if (options_fill(&cli, &opt) < 0)
		goto out_opts;
	if (opt.stream)
		raise_open_files();

	/* Checks every remaining option before anything is created or mounted. */
	f = fuse_new(&args, &fs_operations, sizeof fs_operations, NULL);
	if (!f)
		goto out_opts;
	if (options_paths(&cli, studio_arg, fo.mountpoint, &opt) < 0)
		goto out_destroy;
	/* One mount per studio: two daemons would both submit every queued job. */
	if (studio_lock_take(opt.studio_dir, fo.mountpoint, &err) < 0) {
		log_error("%s", err);
		goto out_destroy;
	}
	if (model_init(&opt, &err) < 0) {
		log_error("%s", err ? err : "cannot load the studio");
		goto out_destroy;
	}
	model_up = true;
	/* Loading a big studio (and converting an old history) frees as much as it
	 * keeps: give the freed heap back before the mount runs for days. */
	malloc_trim(0);
	studio_lock_publish();
	/* A drop's url: must never name a file of this mount (the daemon would wait
	 * on itself): refused by path now, and by device once mounted. */
	local_ref_set_mount(fo.mountpoint, 0);
	if (fuse_mount(f, fo.mountpoint) < 0)
		goto out_destroy;
	local_ref_set_mount(fo.mountpoint, local_ref_mount_dev(fo.mountpoint));
	if (fuse_daemonize(fo.foreground) < 0)
		goto out_unmount;
	if (!fo.foreground)
		log_init(true, level);
	studio_lock_publish(); /* the daemon's PID, for a second mount's message */
	struct fuse_session *se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) < 0)
		goto out_unmount;
	/* after fuse_daemonize: threads do not survive its fork */
	int r = writer_start();
	if (r < 0) {
		log_error("cannot start the writer thread: %s", strerror(-r));
		goto out_signals;
	}
	r = engine_start();
	if (r < 0) {
		log_error("cannot start the engine: %s", strerror(-r));
		goto out_signals;
	}
	engine_set_fuse(f);
	notify_started = notify_start(fo.mountpoint) == 0;
	r = outside_start(opt.studio_dir);
	if (r < 0)
		log_warn("cannot watch %s/data for outside edits: %s", opt.studio_dir, strerror(-r));
	log_info("mounted %s on %s", opt.studio_dir, fo.mountpoint);

	r = run_loop(f, &fo);
	/* A positive value is the signal that ended the loop: a normal stop. */
	ret = r < 0 ? 1 : 0;
	if (r < 0)
		log_error("the FUSE loop failed: %s", strerror(-r));

	outside_stop();
	engine_set_fuse(NULL);
	engine_stop();
	log_info("unmounting %s", fo.mountpoint);
out_signals:
	fuse_remove_signal_handlers(se);
out_unmount:
	fuse_unmount(f);
	/* after the unmount: an announcement in flight fails at once */
	if (notify_started)
		notify_stop();
out_destroy:
	fuse_destroy(f);
	if (model_up)
		model_shutdown();
	studio_lock_release();
	local_ref_set_mount(NULL, 0);
out_opts:
	options_free(&opt);
	free(err);
out_args:
	free(fo.mountpoint);
	fuse_opt_free_args(&args);
	cli_free(&cli);
	log_shutdown();
	return ret;
}
