/* options.h - the mount's settings, filled by main.c from the command line. */
#ifndef SORA2FS_OPTIONS_H
#define SORA2FS_OPTIONS_H

#include <stdbool.h>

struct options {
	char *studio_dir;     /* STUDIO_DIR (absolute) */
	char *downloads_dir;  /* -o downloads=, default STUDIO_DIR/downloads (absolute) */
	char *api_url;        /* -o api_url=: every call goes here (NULL: built-in hosts) */
	char *domestic_url;   /* -o domestic_url= (NULL: built-in) */
	char *overseas_url;   /* -o overseas_url= (NULL: built-in) */
	double poll_interval; /* seconds, default 5 (retry backoff base) */
	double poll_cap;      /* longest wait between polls: poll_interval when given,
			       * else POLL_PLAN_CAP (the poll plan adapts below it) */
	int max_active;       /* default 4 */
	double timeout;       /* one API call, default 30 */
	double connect_timeout; /* default 10 */
	double stall_timeout; /* download below 1 KiB/s this long is aborted, default 60 */
	long long max_video_size; /* bytes; a bigger video is refused, default 4 GiB */
	bool stream;          /* -o updates=stream: keep the submit's streamed answer
			       * open instead of polling (engine.c, "streams") */
	int verbose;
};

#endif
