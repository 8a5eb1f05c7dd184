/*
 * jpkid: the Agency's HTTP server: OCSP for both CAs, the published CRLs,
 * the CA certificates and their fingerprints.  Runs in the foreground until
 * SIGTERM or SIGINT; SIGHUP reopens the access log.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/cli.h"
#include "jpki/config.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/server.h"

static const char *prog = "jpkid";

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: jpkid [OPTIONS]\n"
"The Agency's HTTP server: OCSP (RFC 6960/5019) for the Signing and the\n"
"User-Authentication CA, their CRLs, certificates and fingerprints.\n"
"\n"
"Options (they override the configuration file):\n"
"  -c, --config FILE        settings, 'key = value' (see jpkid(1))\n"
"  -d, --ca-dir DIR         the CA directory made by 'jpki-ca init'\n"
"                           (default: $JPKI_CA_DIR, or ./jpki-ca)\n"
"  -l, --listen ADDR[:PORT] where to listen (default 127.0.0.1:8080)\n"
"  -p, --port PORT          the port alone; 0 picks a free one and prints it\n"
"      --port-file FILE     write the port there once listening\n"
"      --access-log FILE    one line per request ('-': standard error)\n"
"      --threads N          HTTP event loops (default 2); API calls run in\n"
"                           as many worker threads, at least 4\n"
"      --ocsp-validity SEC  nextUpdate - thisUpdate (default 3600)\n"
"      --poll-ms MS         how often the store is asked for changes (default 100)\n"
"      --cache-max N        OCSP responses kept at most (default 1000000)\n"
"      --prefill WHICH      sign every certificate's response at start:\n"
"                           none (default), sha1, sha256, both\n"
"  -h, --help               this help;  -V, --version   the version\n"
"\n"
"Exit status: 0 after SIGTERM or SIGINT, 2 usage error, 10+N for library\n"
"error N (see jpkid(1)).\n");
}

enum {
	O_PORT_FILE = 256, O_ACCESS_LOG, O_THREADS, O_VALIDITY, O_POLL, O_CACHE_MAX, O_PREFILL
};

static const struct option longopts[] = {
	{"config", required_argument, NULL, 'c'},
	{"ca-dir", required_argument, NULL, 'd'},
	{"listen", required_argument, NULL, 'l'},
	{"port", required_argument, NULL, 'p'},
	{"port-file", required_argument, NULL, O_PORT_FILE},
	{"access-log", required_argument, NULL, O_ACCESS_LOG},
	{"threads", required_argument, NULL, O_THREADS},
	{"ocsp-validity", required_argument, NULL, O_VALIDITY},
	{"poll-ms", required_argument, NULL, O_POLL},
	{"cache-max", required_argument, NULL, O_CACHE_MAX},
	{"prefill", required_argument, NULL, O_PREFILL},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static int
parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *config = NULL, *ca_dir = NULL, *listen = NULL, *port = NULL, *port_file = NULL;
	const char *access_log = NULL, *threads = NULL, *validity = NULL, *poll = NULL;
	const char *cache_max = NULL, *prefill = NULL;
	jpki_server_opts_t o;
	jpki_config_t *cfg = NULL;
	jpki_server_t *srv = NULL;
	sigset_t set;
	long long v;
	int c, r, sig, rc = 0;

	while ((c = getopt_long(argc, argv, "c:d:l:p:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': ca_dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'p': port = optarg; break;
		case O_PORT_FILE: port_file = optarg; break;
		case O_ACCESS_LOG: access_log = optarg; break;
		case O_THREADS: threads = optarg; break;
		case O_VALIDITY: validity = optarg; break;
		case O_POLL: poll = optarg; break;
		case O_CACHE_MAX: cache_max = optarg; break;
		case O_PREFILL: prefill = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jpkid (OpenJPKI) 0.1.0\n"); return 0;
		default: return jpki_cli_usage_error(prog, "unknown option");
		}
	}
	if (optind < argc)
		return jpki_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);

	/* Under JPKI_NOW (tests, demos) the server's clock starts there and runs
	 * on, for the online window as for OCSP. */
	jpki_now_run_on();
	/* Defaults, then the file, then the command line. */
	jpki_server_opts_init(&o);
	if (config != NULL && (r = jpki_server_opts_load(config, &o, &cfg)) != 0)
		return jpki_cli_fail(prog, r);
	if (ca_dir != NULL)
		o.ca_dir = ca_dir;
	if (o.ca_dir == NULL && (o.ca_dir = getenv("JPKI_CA_DIR")) != NULL && *o.ca_dir == '\0')
		o.ca_dir = NULL;
	if (o.ca_dir == NULL)
		o.ca_dir = "jpki-ca";
	if (listen != NULL)
		o.listen = listen;
	if (access_log != NULL)
		o.access_log = access_log;
	if (port != NULL) {
		if (parse_num(port, 0, 65535, &v) != 0) {
			rc = jpki_cli_usage_error(prog, "--port: '%s' is not a port (0..65535)", port);
			goto out;
		}
		o.port = (long)v;
	}
	if (threads != NULL) {
		if (parse_num(threads, 1, 64, &v) != 0) {
			rc = jpki_cli_usage_error(prog, "--threads: '%s' is not 1..64", threads);
			goto out;
		}
		o.threads = (unsigned)v;
	}
	if (validity != NULL) {
		if (parse_num(validity, 1, 7 * 86400, &v) != 0) {
			rc = jpki_cli_usage_error(prog, "--ocsp-validity: '%s' is not 1..604800 seconds",
			                          validity);
			goto out;
		}
		o.ocsp_validity = v;
	}
	if (poll != NULL) {
		if (parse_num(poll, 10, 60000, &v) != 0) {
			rc = jpki_cli_usage_error(prog, "--poll-ms: '%s' is not 10..60000", poll);
			goto out;
		}
		o.poll_ms = v;
	}
	if (cache_max != NULL) {
		if (parse_num(cache_max, 1, 1LL << 32, &v) != 0) {
			rc = jpki_cli_usage_error(prog, "--cache-max: '%s' is not a positive number",
			                          cache_max);
			goto out;
		}
		o.cache_max = v;
	}
	if (prefill != NULL && jpki_server_prefill_parse(prefill, &o.prefill) != 0) {
		rc = jpki_cli_usage_error(prog, "--prefill: '%s' is not none, sha1, sha256 or both",
		                          prefill);
		goto out;
	}

	/* The signals wait for the main thread alone: blocked before any
	 * thread starts, so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((r = jpki_server_start(&o, &srv)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if (port_file != NULL) {
		char line[16];
		int n = snprintf(line, sizeof(line), "%u\n", jpki_server_port(srv));
		if ((r = jpki_file_write_atomic(port_file, line, (size_t)n, 0644)) != 0) {
			rc = jpki_cli_fail(prog, r);
			goto out;
		}
	}
	if (o.port == 0 || (o.port < 0 && o.listen != NULL && strlen(o.listen) >= 2 &&
	                    strcmp(o.listen + strlen(o.listen) - 2, ":0") == 0)) {
		printf("%u\n", jpki_server_port(srv));
		fflush(stdout);
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		if ((r = jpki_server_reopen_log(srv)) != 0)
			jpki_cli_fail(prog, r); /* keep serving, with the old log */
	}
	rc = 0;
out:
	jpki_server_stop(srv);
	jpki_config_free(cfg);
	return rc;
}
