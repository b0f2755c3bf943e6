/*
 * sim.c - sora2-sim's entry point: parses the command line, loads the video,
 * starts the HTTP server on 127.0.0.1 and the webhook thread, publishes the
 * port, then waits for SIGTERM/SIGINT and shuts everything down cleanly.
 *
 *   $ sora2-sim --port 0 --port-file /tmp/sim.port --gen-time 1 --quiet &
 *   sora2-sim: listening on http://127.0.0.1:41234
 *   $ cat /tmp/sim.port
 *   41234
 *   $ kill %1
 */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SIM_DEFAULT_MP4
#define SIM_DEFAULT_MP4 "tests/sim/tiny.mp4"
#endif

static void usage(FILE *out)
{
	fputs("usage: sora2-sim [--port N] [--port-file FILE] [--gen-time SECONDS]\n"
	      "                 [--expire SECONDS] [--credits N] [--video-size BYTES]\n"
	      "                 [--mp4 FILE] [--fault KIND=MODE[:COUNT]]...\n"
	      "                 [--progress-style normal|missing|jump] [--id-style uuid|opaque]\n"
	      "                 [--stream-bare] [--bad-key-http401] [--quiet]\n"
	      "                 [--hang-port-file FILE]\n"
	      "A local simulator of the upstream Sora2 API; see tests/sim/README.md.\n"
	      "Default video: " SIM_DEFAULT_MP4 "\n",
	      out);
}

static bool parse_number(const char *opt, const char *arg, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (end == arg || *end || errno || !isfinite(v) || v < 0 || v > max) {
		fprintf(stderr, "sora2-sim: %s: '%s' is not a number between 0 and %.0f\n", opt, arg,
			max);
		return false;
	}
	*out = v;
	return true;
}

static bool write_port_file(const char *path, int port)
{
	size_t n = strlen(path) + 32;
	char *tmp = sim_xmalloc(n);
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	bool ok = f && fprintf(f, "%d\n", port) > 0;
	if (f && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "sora2-sim: cannot write port file %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ok;
}

enum {
	OPT_PORT = 1000,
	OPT_PORT_FILE,
	OPT_GEN_TIME,
	OPT_EXPIRE,
	OPT_CREDITS,
	OPT_VIDEO_SIZE,
	OPT_MP4,
	OPT_FAULT,
	OPT_PROGRESS_STYLE,
	OPT_ID_STYLE,
	OPT_STREAM_BARE,
	OPT_BAD_KEY_401,
	OPT_QUIET,
	OPT_HANG_PORT_FILE,
	OPT_HELP,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, OPT_PORT},
		{"port-file", required_argument, NULL, OPT_PORT_FILE},
		{"gen-time", required_argument, NULL, OPT_GEN_TIME},
		{"expire", required_argument, NULL, OPT_EXPIRE},
		{"credits", required_argument, NULL, OPT_CREDITS},
		{"video-size", required_argument, NULL, OPT_VIDEO_SIZE},
		{"mp4", required_argument, NULL, OPT_MP4},
		{"fault", required_argument, NULL, OPT_FAULT},
		{"progress-style", required_argument, NULL, OPT_PROGRESS_STYLE},
		{"id-style", required_argument, NULL, OPT_ID_STYLE},
		{"stream-bare", no_argument, NULL, OPT_STREAM_BARE},
		{"bad-key-http401", no_argument, NULL, OPT_BAD_KEY_401},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"hang-port-file", required_argument, NULL, OPT_HANG_PORT_FILE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	struct sim_config cfg = {
		.gen_time = 180,
		.expire = 7200,
		.credits = 100000,
		.video_size = 0,
		.progress_style = PROGRESS_NORMAL,
		.id_style = ID_UUID,
	};
	double port = 0, d;
	const char *port_file = NULL;
	const char *hang_port_file = NULL;
	const char *mp4 = SIM_DEFAULT_MP4;
	const char **faults = sim_xmalloc(sizeof *faults * (size_t)(argc + 1));
	size_t nfaults = 0;
	bool quiet = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PORT:
			if (!parse_number("--port", optarg, 65535, &port) || port != floor(port))
				goto bad;
			break;
		case OPT_PORT_FILE:
			port_file = optarg;
			break;
		case OPT_GEN_TIME:
			if (!parse_number("--gen-time", optarg, 1e7, &cfg.gen_time))
				goto bad;
			break;
		case OPT_EXPIRE:
			if (!parse_number("--expire", optarg, 1e9, &cfg.expire))
				goto bad;
			break;
		case OPT_CREDITS:
			if (!parse_number("--credits", optarg, 1e15, &d))
				goto bad;
			cfg.credits = (long long)d;
			break;
		case OPT_VIDEO_SIZE:
			if (!parse_number("--video-size", optarg, 1e15, &d))
				goto bad;
			cfg.video_size = (uint64_t)d;
			break;
		case OPT_MP4:
			mp4 = optarg;
			break;
		case OPT_FAULT:
			faults[nfaults++] = optarg;
			break;
		case OPT_PROGRESS_STYLE:
			if (strcmp(optarg, "normal") == 0)
				cfg.progress_style = PROGRESS_NORMAL;
			else if (strcmp(optarg, "missing") == 0)
				cfg.progress_style = PROGRESS_MISSING;
			else if (strcmp(optarg, "jump") == 0)
				cfg.progress_style = PROGRESS_JUMP;
			else {
				fprintf(stderr, "sora2-sim: --progress-style: normal, missing or jump\n");
				goto bad;
			}
			break;
		case OPT_ID_STYLE:
			if (strcmp(optarg, "uuid") == 0)
				cfg.id_style = ID_UUID;
			else if (strcmp(optarg, "opaque") == 0)
				cfg.id_style = ID_OPAQUE;
			else {
				fprintf(stderr, "sora2-sim: --id-style: uuid or opaque\n");
				goto bad;
			}
			break;
		case OPT_STREAM_BARE:
			cfg.stream_bare = true;
			break;
		case OPT_BAD_KEY_401:
			cfg.bad_key_http401 = true;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_HANG_PORT_FILE:
			hang_port_file = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			free(faults);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sora2-sim: unexpected argument '%s'\n", argv[optind]);
		goto bad;
	}
	sim_set_quiet(quiet);

	char err[512];
	if (!mp4_load(mp4, err, sizeof err)) {
		fprintf(stderr, "sora2-sim: %s\n", err);
		free(faults);
		return 1;
	}
	state_init(&cfg, err, sizeof err);
	sim_lock();
	for (size_t i = 0; i < nfaults; i++) {
		if (!fault_parse_cli_locked(faults[i], err, sizeof err)) {
			sim_unlock();
			fprintf(stderr, "sora2-sim: %s\n", err);
			state_free();
			mp4_free();
			free(faults);
			return 2;
		}
	}
	sim_unlock();
	free(faults);

	/* Signals go to sigwait() below, never to a worker thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int status = 1;
	struct MHD_Daemon *d_http = NULL;
	if (!notify_start(err, sizeof err)) {
		fprintf(stderr, "sora2-sim: %s\n", err);
		goto out;
	}
	d_http = http_start((int)port, err, sizeof err);
	if (!d_http) {
		fprintf(stderr, "sora2-sim: %s\n", err);
		goto out;
	}
	int bound = http_bound_port(d_http);
	if (bound <= 0) {
		fprintf(stderr, "sora2-sim: cannot find the listening port\n");
		goto out;
	}
	state_set_port(bound);
	if (port_file && !write_port_file(port_file, bound))
		goto out;
	if (hang_port_file) {
		int hp = hang_start(err, sizeof err);
		if (hp < 0) {
			fprintf(stderr, "sora2-sim: %s\n", err);
			goto out;
		}
		if (!write_port_file(hang_port_file, hp))
			goto out;
		fprintf(stderr, "sora2-sim: connects to 127.0.0.1:%d hang\n", hp);
	}
	fprintf(stderr, "sora2-sim: listening on http://127.0.0.1:%d\n", bound);
	fflush(stderr);

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	sim_log("got signal %d, shutting down", sig);
	status = 0;
out:
	hang_stop();
	sim_begin_shutdown();
	if (d_http)
		MHD_stop_daemon(d_http);
	notify_stop();
	state_free();
	mp4_free();
	return status;

bad:
	usage(stderr);
	free(faults);
	return 2;
}
