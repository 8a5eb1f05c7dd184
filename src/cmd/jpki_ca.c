/*
 * jpki-ca: what the Agency's operators run for the two certification
 * authorities: create them, issue, revoke, hold and release certificates,
 * publish CRLs, show fingerprints.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include <pwd.h>
#include <unistd.h>

#include "jpki/audit.h"
#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/x509.h"

static const char *prog = "jpki-ca";

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: jpki-ca [-d DIR] COMMAND [OPTIONS]\n"
"The Agency's certification authorities of the Public Certification Service\n"
"for Individuals: the Signing CA (sign) and the User-Authentication CA (auth).\n"
"\n"
"Commands:\n"
"  init [--test] [--base-url URL] [--partition-size N] [--store URI]\n"
"        create both CAs in DIR (never overwrites an existing CA)\n"
"  issue --kind sign|auth --pubkey FILE --dob YYYY-MM-DD [--name NAME\n"
"        --sex 1|2|9 --address ADDR [--alias A] [--name-flags F]\n"
"        [--address-flags F] [--prefecture P] [--city C]] [--card-expiry DATE]\n"
"        [--gen2004] [--out FILE] [--json]\n"
"        issue a certificate for the public key (RSA-2048, PEM or DER)\n"
"  revoke --kind K --serial HEX --reason R   R: keyCompromise, affiliationChanged,\n"
"        superseded, cessationOfOperation\n"
"  hold --kind K --serial HEX      temporary suspension (certificateHold)\n"
"  release --kind K --serial HEX   lift a hold (authentication certificates only)\n"
"  crl [--kind K [--partition N] [--delta]]   publish CRLs (all when no kind)\n"
"  show --kind K --serial HEX [--json]        a certificate's status\n"
"  list --kind K [--json]                     every certificate of a CA\n"
"  fingerprint [--json]                       SHA-256 of both CA certificates\n"
"  audit verify [--json]                      check the audit log's chain: names the\n"
"        first entry changed, removed or out of order\n"
"  audit show [--json]                        every audit entry\n"
"\n"
"Options:\n"
"  -d, --dir DIR   the CA directory (default: $JPKI_CA_DIR, or ./jpki-ca)\n"
"  -h, --help      this help;  -V, --version   the version\n"
"\n"
"Exit status: 0 success, 2 usage error, 10+N for library error N (see jpki-ca(1)).\n");
}

enum {
	O_TEST = 256, O_BASE_URL, O_PARTITION_SIZE, O_STORE, O_KIND, O_PUBKEY, O_DOB, O_NAME,
	O_SEX, O_ADDRESS, O_ALIAS, O_NAME_FLAGS, O_ADDRESS_FLAGS, O_PREFECTURE, O_CITY,
	O_CARD_EXPIRY, O_GEN2004, O_OUT, O_JSON, O_SERIAL, O_REASON, O_PARTITION, O_DELTA
};

static const struct option longopts[] = {
	{"dir", required_argument, NULL, 'd'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"test", no_argument, NULL, O_TEST},
	{"base-url", required_argument, NULL, O_BASE_URL},
	{"partition-size", required_argument, NULL, O_PARTITION_SIZE},
	{"store", required_argument, NULL, O_STORE},
	{"kind", required_argument, NULL, O_KIND},
	{"pubkey", required_argument, NULL, O_PUBKEY},
	{"dob", required_argument, NULL, O_DOB},
	{"name", required_argument, NULL, O_NAME},
	{"sex", required_argument, NULL, O_SEX},
	{"address", required_argument, NULL, O_ADDRESS},
	{"alias", required_argument, NULL, O_ALIAS},
	{"name-flags", required_argument, NULL, O_NAME_FLAGS},
	{"address-flags", required_argument, NULL, O_ADDRESS_FLAGS},
	{"prefecture", required_argument, NULL, O_PREFECTURE},
	{"city", required_argument, NULL, O_CITY},
	{"card-expiry", required_argument, NULL, O_CARD_EXPIRY},
	{"gen2004", no_argument, NULL, O_GEN2004},
	{"out", required_argument, NULL, O_OUT},
	{"json", no_argument, NULL, O_JSON},
	{"serial", required_argument, NULL, O_SERIAL},
	{"reason", required_argument, NULL, O_REASON},
	{"partition", required_argument, NULL, O_PARTITION},
	{"delta", no_argument, NULL, O_DELTA},
	{NULL, 0, NULL, 0},
};

struct args {
	const char *dir;
	int test, json, delta, gen2004;
	const char *base_url, *store, *kind, *pubkey, *dob, *name, *sex, *address, *alias;
	const char *name_flags, *address_flags, *prefecture, *city, *card_expiry, *out;
	const char *serial, *reason, *partition, *partition_size;
};

static int
parse_int(const char *s, long long min, long long max, long long *out)
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

static int
cmd_init(struct args *a)
{
	jpki_ca_init_opts_t o = {0};
	long long ps = 0;
	int r;

	if (a->partition_size && parse_int(a->partition_size, 1, 1LL << 40, &ps) != 0)
		return jpki_cli_usage_error(prog, "--partition-size: '%s' is not a positive number",
		                            a->partition_size);
	o.test = a->test;
	o.base_url = a->base_url;
	o.store_uri = a->store;
	o.partition_size = ps;
	if ((r = jpki_ca_init(a->dir, &o)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

static int
need_kind(struct args *a, jpki_ca_kind_t *kind)
{
	int r;

	if (a->kind == NULL)
		return jpki_cli_usage_error(prog, "--kind sign|auth is required");
	if ((r = jpki_ca_kind_parse(a->kind, kind)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

static int
need_serial(struct args *a, uint8_t *serial, size_t *len)
{
	int r;

	if (a->serial == NULL)
		return jpki_cli_usage_error(prog, "--serial HEX is required");
	if ((r = jpki_serial_parse(a->serial, serial, len)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

/* The Agency's operators act through the OS account that holds the CA
 * directory; the audit log names it. */
static const char *
actor(void)
{
	static char name[80];
	struct passwd *pw = getpwuid(geteuid());

	snprintf(name, sizeof(name), "os:%s", pw != NULL ? pw->pw_name : "?");
	return name;
}

/* Audit an act in its own transaction (a refusal or failure, or an act
 * whose own transaction is already committed). */
static void
audit_alone(jpki_ca_t *ca, const char *action, const char *subject, const char *outcome,
            const char *detail)
{
	jpki_audit_t au;

	if (jpki_audit_open(&au, jpki_ca_dir(ca), jpki_ca_store(ca), prog) == 0)
		(void)jpki_audit_append(&au, actor(), action, subject, outcome, detail);
	jpki_audit_clear(&au);
}

/* Run the act between jpki_ca_batch_begin and commit with its audit entry:
 * both or neither. */
static int
audited_commit(jpki_ca_t *ca, int r, const char *action, const char *subject,
               const char *detail)
{
	jpki_audit_t au;
	int r2;

	if (r == 0) {
		if ((r = jpki_audit_open(&au, jpki_ca_dir(ca), jpki_ca_store(ca), prog)) == 0)
			r = jpki_audit_append(&au, actor(), action, subject, "ok", detail);
		jpki_audit_clear(&au);
	}
	if (r == 0)
		return jpki_ca_batch_commit(ca);
	r2 = r;
	(void)jpki_ca_batch_rollback(ca);
	audit_alone(ca, action, subject, "failed", jpki_detail());
	return r2;
}

static int
cmd_issue(struct args *a)
{
	jpki_ca_t *ca = NULL;
	jpki_person_t person;
	jpki_issue_req_t req;
	jpki_issued_t is;
	jpki_date_t card_exp;
	EVP_PKEY *pub = NULL;
	BIO *b = NULL;
	char hex[64], nb[96], na[96], js[1024];
	char *pem;
	long pemlen;
	int r, rc = 1;
	jpki_ca_kind_t kind;

	memset(&person, 0, sizeof(person));
	memset(&req, 0, sizeof(req));
	memset(&is, 0, sizeof(is));
	if ((rc = need_kind(a, &kind)) != 0)
		return rc;
	if (a->pubkey == NULL)
		return jpki_cli_usage_error(prog, "--pubkey FILE is required");
	if (a->dob == NULL)
		return jpki_cli_usage_error(prog, "--dob YYYY-MM-DD is required (validity, L4)");
	if (jpki_date_parse(a->dob, &person.dob) != 0)
		return jpki_cli_usage_error(prog, "--dob: '%s' is not a date (YYYY-MM-DD)", a->dob);
	if (kind == JPKI_CA_SIGN) {
		if (a->name == NULL || a->address == NULL || a->sex == NULL)
			return jpki_cli_usage_error(prog, "a signature certificate needs --name, --sex and --address");
		if (jpki_sex_parse(a->sex, &person.sex) != 0)
			return jpki_cli_usage_error(prog, "--sex: '%s' is not 1 (male), 2 (female) or 9", a->sex);
		person.name = a->name;
		person.address = a->address;
		person.alias = a->alias;
		person.name_flags = a->name_flags;
		person.address_flags = a->address_flags;
		person.prefecture = a->prefecture;
		person.city = a->city;
	} else if (a->name || a->address || a->alias || a->sex) {
		return jpki_cli_usage_error(prog, "an authentication certificate carries no personal data: "
		                            "drop --name/--sex/--address/--alias");
	}
	if (a->card_expiry != NULL) {
		if (jpki_date_parse(a->card_expiry, &card_exp) != 0)
			return jpki_cli_usage_error(prog, "--card-expiry: '%s' is not a date (YYYY-MM-DD)",
			                            a->card_expiry);
		req.card_expiry = &card_exp;
	}
	if ((r = jpki_x509_load_pubkey(a->pubkey, &pub)) != 0)
		return jpki_cli_fail(prog, r);
	req.kind = kind;
	req.pub = pub;
	req.person = &person;
	req.gen = a->gen2004 ? JPKI_GEN_2004 : JPKI_GEN_MYNUMBER;
	req.der_only = 1; /* PEM is written from the DER: no X509 to parse */
	if ((r = jpki_ca_open(a->dir, &ca)) != 0 || (r = jpki_ca_batch_begin(ca)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	r = jpki_ca_issue(ca, &req, &is);
	if (r == 0)
		jpki_serial_hex(is.serial, is.serial_len, hex, sizeof(hex));
	snprintf(js, sizeof(js), "%s %s", jpki_ca_kind_name(kind), r == 0 ? hex : "-");
	if ((r = audited_commit(ca, r, "issue", js, is.cn)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(b, PEM_STRING_X509, "", is.der, (long)is.der_len) <= 0 ||
	    (pemlen = BIO_get_mem_data(b, &pem)) <= 0) {
		rc = jpki_cli_fail(prog, JPKI_ERR_CRYPTO);
		goto out;
	}
	if (a->out != NULL) {
		if ((r = jpki_file_write_atomic(a->out, pem, (size_t)pemlen, 0644)) != 0) {
			rc = jpki_cli_fail(prog, r);
			goto out;
		}
	} else if (!a->json) {
		fwrite(pem, 1, (size_t)pemlen, stdout);
	}
	jpki_serial_hex(is.serial, is.serial_len, hex, sizeof(hex));
	if (a->json) {
		jpki_cli_iso_time(is.not_before, nb, sizeof(nb));
		jpki_cli_iso_time(is.not_after, na, sizeof(na));
		printf("{\"kind\":\"%s\",\"serial\":\"%s\",\"cn\":\"%s\",\"partition\":%lld,"
		       "\"not_before\":\"%s\",\"not_after\":\"%s\"",
		       jpki_ca_kind_name(kind), hex, is.cn, (long long)is.partition, nb, na);
		if (a->out != NULL) {
			jpki_cli_json_str(a->out, js, sizeof(js));
			printf(",\"file\":%s", js);
		} else {
			/* The PEM in JSON with its newlines escaped. */
			char *esc = malloc(2 * (size_t)pemlen + 3);
			if (esc != NULL) {
				char *tmp = strndup(pem, (size_t)pemlen);
				if (tmp != NULL) {
					jpki_cli_json_str(tmp, esc, 2 * (size_t)pemlen + 3);
					printf(",\"pem\":%s", esc);
				}
				free(tmp);
				free(esc);
			}
		}
		printf("}\n");
	} else if (a->out != NULL) {
		printf("%s\n", hex);
	}
	rc = 0;
out:
	BIO_free(b);
	jpki_issued_clear(&is);
	EVP_PKEY_free(pub);
	jpki_ca_close(ca);
	return rc;
}

static int
cmd_status(struct args *a, const char *verb)
{
	jpki_ca_t *ca = NULL;
	jpki_ca_kind_t kind;
	uint8_t serial[JPKI_SERIAL_MAX];
	char hex[2 * JPKI_SERIAL_MAX + 1], subject[64];
	size_t len;
	int reason = 0, r, rc;

	if ((rc = need_kind(a, &kind)) != 0 || (rc = need_serial(a, serial, &len)) != 0)
		return rc;
	if (strcmp(verb, "revoke") == 0) {
		if (a->reason == NULL)
			return jpki_cli_usage_error(prog, "--reason is required (keyCompromise, "
			                            "affiliationChanged, superseded, cessationOfOperation)");
		if ((r = jpki_reason_parse(a->reason, &reason)) != 0)
			return jpki_cli_fail(prog, r);
	}
	if ((r = jpki_ca_open(a->dir, &ca)) != 0)
		return jpki_cli_fail(prog, r);
	if ((r = jpki_ca_batch_begin(ca)) == 0) {
		if (strcmp(verb, "revoke") == 0)
			r = jpki_ca_revoke(ca, kind, serial, len, reason, 0);
		else if (strcmp(verb, "hold") == 0)
			r = jpki_ca_hold(ca, kind, serial, len, 0);
		else
			r = jpki_ca_release(ca, kind, serial, len, 0);
		jpki_serial_hex(serial, len, hex, sizeof(hex));
		snprintf(subject, sizeof(subject), "%s %s", jpki_ca_kind_name(kind), hex);
		r = audited_commit(ca, r, verb, subject, a->reason);
	}
	rc = r ? jpki_cli_fail(prog, r) : 0;
	jpki_ca_close(ca);
	return rc;
}

static int
cmd_crl(struct args *a)
{
	jpki_ca_t *ca = NULL;
	jpki_ca_kind_t kind;
	jpki_crl_rec_t rec;
	char path[PATH_MAX];
	long long part = 0;
	int r, rc = 0, count;

	if (a->kind == NULL && (a->partition || a->delta))
		return jpki_cli_usage_error(prog, "--partition and --delta need --kind");
	if (a->partition && parse_int(a->partition, 0, 1LL << 40, &part) != 0)
		return jpki_cli_usage_error(prog, "--partition: '%s' is not a number", a->partition);
	if (a->kind != NULL && (rc = need_kind(a, &kind)) != 0)
		return rc;
	if ((r = jpki_ca_open(a->dir, &ca)) != 0)
		return jpki_cli_fail(prog, r);
	if (a->kind == NULL) {
		r = jpki_ca_publish_all(ca, 0, &count);
		audit_alone(ca, "crl", "all", r == 0 ? "ok" : "failed", r == 0 ? "" : jpki_detail());
		if (r != 0)
			rc = jpki_cli_fail(prog, r);
		else if (a->json)
			printf("{\"published\":%d}\n", count);
	} else {
		r = jpki_ca_publish_crl(ca, kind, part, a->delta, 0, &rec);
		snprintf(path, sizeof(path), "%s partition %lld%s", jpki_ca_kind_name(kind), part,
		         a->delta ? " delta" : "");
		audit_alone(ca, "crl", path, r == 0 ? "ok" : "failed", r == 0 ? "" : jpki_detail());
		if (r != 0) {
			rc = jpki_cli_fail(prog, r);
		} else {
			jpki_ca_crl_path(ca, kind, part, a->delta, path, sizeof(path));
			if (a->json)
				printf("{\"kind\":\"%s\",\"partition\":%lld,\"delta\":%s,\"number\":%lld,"
				       "\"file\":\"%s\"}\n", jpki_ca_kind_name(kind), part,
				       a->delta ? "true" : "false", (long long)rec.number, path);
			else
				printf("%s\n", path);
		}
	}
	jpki_ca_close(ca);
	return rc;
}

static const char *
status_name(jpki_cert_status_t s)
{
	return s == JPKI_STATUS_GOOD ? "good" : s == JPKI_STATUS_REVOKED ? "revoked" : "hold";
}

static void
print_rec(const jpki_cert_rec_t *rec, int json)
{
	char hex[64], nb[96], na[96], st[96];

	jpki_serial_hex(rec->serial, rec->serial_len, hex, sizeof(hex));
	if (json) {
		jpki_cli_iso_time((time_t)rec->not_before, nb, sizeof(nb));
		jpki_cli_iso_time((time_t)rec->not_after, na, sizeof(na));
		jpki_cli_iso_time((time_t)rec->status_time, st, sizeof(st));
		printf("{\"kind\":\"%s\",\"serial\":\"%s\",\"cn\":\"%s\",\"partition\":%lld,"
		       "\"not_before\":\"%s\",\"not_after\":\"%s\",\"status\":\"%s\"",
		       jpki_ca_kind_name(rec->ca), hex, rec->subject_cn, (long long)rec->partition,
		       nb, na, status_name(rec->status));
		if (rec->status != JPKI_STATUS_GOOD)
			printf(",\"reason\":\"%s\",\"since\":\"%s\"", jpki_reason_name(rec->reason), st);
		printf("}\n");
	} else {
		jpki_cli_format_time((time_t)rec->not_after, na, sizeof(na));
		printf("%s\t%s\t%s\tnotAfter %s", hex, status_name(rec->status), rec->subject_cn, na);
		if (rec->status != JPKI_STATUS_GOOD) {
			jpki_cli_format_time((time_t)rec->status_time, st, sizeof(st));
			printf("\t%s since %s", jpki_reason_name(rec->reason), st);
		}
		printf("\n");
	}
}

static int
list_cb(void *ctx, const jpki_cert_rec_t *rec)
{
	print_rec(rec, *(int *)ctx);
	return 0;
}

static int
cmd_show(struct args *a, int list)
{
	jpki_ca_t *ca = NULL;
	jpki_ca_kind_t kind;
	jpki_cert_rec_t rec;
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t len;
	int r, rc;

	memset(&rec, 0, sizeof(rec));
	if ((rc = need_kind(a, &kind)) != 0 || (!list && (rc = need_serial(a, serial, &len)) != 0))
		return rc;
	if ((r = jpki_ca_open(a->dir, &ca)) != 0)
		return jpki_cli_fail(prog, r);
	if (list)
		r = jpki_store_foreach_cert(jpki_ca_store(ca), kind, list_cb, &a->json);
	else if ((r = jpki_store_cert_get(jpki_ca_store(ca), kind, serial, len, 0, &rec)) == 0)
		print_rec(&rec, a->json);
	else if (r == JPKI_ERR_NOT_FOUND)
		jpki_set_detail("the %s CA has issued no certificate with serial %s", a->kind, a->serial);
	rc = r ? jpki_cli_fail(prog, r) : 0;
	jpki_cert_rec_clear(&rec);
	jpki_ca_close(ca);
	return rc;
}

static int
cmd_fingerprint(struct args *a)
{
	jpki_ca_t *ca = NULL;
	char fp[2][128];
	int k, r;

	if ((r = jpki_ca_open(a->dir, &ca)) != 0)
		return jpki_cli_fail(prog, r);
	for (k = 0; k < 2; k++)
		if ((r = jpki_x509_fingerprint_sha256(jpki_ca_cert(ca, (jpki_ca_kind_t)k), fp[k],
		                                      sizeof(fp[k]))) != 0) {
			jpki_ca_close(ca);
			return jpki_cli_fail(prog, r);
		}
	if (a->json)
		printf("{\"sign\":\"%s\",\"auth\":\"%s\"}\n", fp[0], fp[1]);
	else
		printf("sign\t%s\nauth\t%s\n", fp[0], fp[1]);
	jpki_ca_close(ca);
	return 0;
}

static int
audit_show_cb(void *ctx, const jpki_audit_rec_t *e)
{
	int json = *(int *)ctx;
	char t[96], f[5][2200];

	jpki_cli_iso_time((time_t)e->time, t, sizeof(t));
	if (json) {
		jpki_cli_json_str(e->actor, f[0], sizeof(f[0]));
		jpki_cli_json_str(e->action, f[1], sizeof(f[1]));
		jpki_cli_json_str(e->subject, f[2], sizeof(f[2]));
		jpki_cli_json_str(e->outcome, f[3], sizeof(f[3]));
		jpki_cli_json_str(e->detail, f[4], sizeof(f[4]));
		printf("{\"seq\":%lld,\"time\":\"%s\",\"program\":\"%s\",\"actor\":%s,"
		       "\"action\":%s,\"subject\":%s,\"outcome\":%s,\"detail\":%s}\n",
		       (long long)e->seq, t, e->program, f[0], f[1], f[2], f[3], f[4]);
	} else {
		printf("%6lld %s %-11s %-16s %-12s %-8s %s  %s\n", (long long)e->seq, t, e->program,
		       e->actor, e->action, e->outcome, e->subject, e->detail);
	}
	return 0;
}

/* audit verify: walk the chain; audit show: print it. */
static int
cmd_audit(struct args *a, const char *sub)
{
	jpki_ca_t *ca = NULL;
	jpki_audit_t au;
	jpki_audit_report_t rep;
	int r, rc = 1;

	memset(&au, 0, sizeof(au));
	if (sub == NULL || (strcmp(sub, "verify") != 0 && strcmp(sub, "show") != 0))
		return jpki_cli_usage_error(prog, "audit verify | audit show");
	if ((r = jpki_ca_open(a->dir, &ca)) != 0 ||
	    (r = jpki_audit_open(&au, jpki_ca_dir(ca), jpki_ca_store(ca), prog)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if (strcmp(sub, "show") == 0) {
		rc = (r = jpki_audit_foreach(&au, audit_show_cb, &a->json)) != 0
		     ? jpki_cli_fail(prog, r) : 0;
		goto out;
	}
	r = jpki_audit_verify(&au, &rep);
	if (r != 0 && r != JPKI_ERR_VERIFY) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if (a->json)
		printf("{\"entries\":%lld,\"intact\":%s,\"bad_entry\":%lld,\"why\":\"%s\"}\n",
		       (long long)rep.entries, r == 0 ? "true" : "false", (long long)rep.bad_seq,
		       rep.why);
	else if (r == 0)
		printf(jpki_lang_ja() ? "監査ログは改ざんされていません: %lld 件\n"
		                      : "audit log intact: %lld entries\n", (long long)rep.entries);
	if (r != 0) {
		jpki_set_detail("%s", rep.why);
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	rc = 0;
out:
	jpki_audit_clear(&au);
	jpki_ca_close(ca);
	return rc;
}

int
main(int argc, char **argv)
{
	struct args a;
	const char *cmd, *sub = NULL;
	int c;

	memset(&a, 0, sizeof(a));
	a.dir = getenv("JPKI_CA_DIR");
	if (a.dir == NULL || *a.dir == '\0')
		a.dir = "jpki-ca";
	while ((c = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a.dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jpki-ca (OpenJPKI) 0.1.0\n"); return 0;
		default: return jpki_cli_usage_error(prog, "unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return JPKI_EXIT_USAGE;
	}
	cmd = argv[optind];
	optind++;
	if (strcmp(cmd, "audit") == 0 && optind < argc && argv[optind][0] != '-')
		sub = argv[optind++];
	while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a.dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case O_TEST: a.test = 1; break;
		case O_BASE_URL: a.base_url = optarg; break;
		case O_PARTITION_SIZE: a.partition_size = optarg; break;
		case O_STORE: a.store = optarg; break;
		case O_KIND: a.kind = optarg; break;
		case O_PUBKEY: a.pubkey = optarg; break;
		case O_DOB: a.dob = optarg; break;
		case O_NAME: a.name = optarg; break;
		case O_SEX: a.sex = optarg; break;
		case O_ADDRESS: a.address = optarg; break;
		case O_ALIAS: a.alias = optarg; break;
		case O_NAME_FLAGS: a.name_flags = optarg; break;
		case O_ADDRESS_FLAGS: a.address_flags = optarg; break;
		case O_PREFECTURE: a.prefecture = optarg; break;
		case O_CITY: a.city = optarg; break;
		case O_CARD_EXPIRY: a.card_expiry = optarg; break;
		case O_GEN2004: a.gen2004 = 1; break;
		case O_OUT: a.out = optarg; break;
		case O_JSON: a.json = 1; break;
		case O_SERIAL: a.serial = optarg; break;
		case O_REASON: a.reason = optarg; break;
		case O_PARTITION: a.partition = optarg; break;
		case O_DELTA: a.delta = 1; break;
		default: return jpki_cli_usage_error(prog, "bad option for '%s'", cmd);
		}
	}
	if (optind < argc)
		return jpki_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (!strcmp(cmd, "init"))
		return cmd_init(&a);
	if (!strcmp(cmd, "issue"))
		return cmd_issue(&a);
	if (!strcmp(cmd, "revoke") || !strcmp(cmd, "hold") || !strcmp(cmd, "release"))
		return cmd_status(&a, cmd);
	if (!strcmp(cmd, "crl"))
		return cmd_crl(&a);
	if (!strcmp(cmd, "show"))
		return cmd_show(&a, 0);
	if (!strcmp(cmd, "list"))
		return cmd_show(&a, 1);
	if (!strcmp(cmd, "fingerprint"))
		return cmd_fingerprint(&a);
	if (!strcmp(cmd, "audit"))
		return cmd_audit(&a, sub);
	return jpki_cli_usage_error(prog, "unknown command '%s'", cmd);
}
