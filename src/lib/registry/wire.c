/*
 * The window's records as JSON (wire.h): what crosses between
 * `jpki-office --server` and jpkid.  Decoders trust nothing: every string is
 * measured against its C array before it is copied, every date parsed
 * strictly, every enum checked against its range.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "jpki/error.h"
#include "registry/wire.h"

/* ---- encoding ---- */

/* An unset date (year 0, as a card being issued may have) goes out as "",
 * the way the store's documents keep it, so the record comes back equal. */
static json_t *
date_json(const jpki_date_t *d)
{
	char s[16] = "";

	if (d->year != 0)
		jpki_date_format_iso(d, s, sizeof(s));
	return json_string(s);
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Set key to v (stolen); *ok cleared on any failure so one check at the end
 * covers every member. */
static void
put(json_t *o, const char *key, json_t *v, int *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = 0;
}

static json_t *
finish(json_t *o, int ok)
{
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
wire_resident(const jpki_resident_t *r)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (o == NULL)
		return NULL;
	put(o, "id", json_string(r->id), &ok);
	put(o, "name", json_string(r->name), &ok);
	put(o, "kana", json_string(r->kana), &ok);
	put(o, "dob", date_json(&r->dob), &ok);
	put(o, "sex", json_integer(r->sex), &ok);
	put(o, "address", json_string(r->address), &ok);
	put(o, "alias", json_string(r->alias), &ok);
	put(o, "foreign", json_integer(r->foreign), &ok);
	put(o, "card", json_string(r->card), &ok);
	put(o, "registered", json_integer(r->registered), &ok);
	put(o, "updated", json_integer(r->updated), &ok);
	return finish(o, ok);
}

static json_t *
serial_json(const uint8_t *s, size_t len)
{
	char hex[2 * JPKI_SERIAL_MAX + 1] = "";

	if (len > JPKI_SERIAL_MAX)
		return NULL;
	if (len > 0)
		jpki_serial_hex(s, len, hex, sizeof(hex));
	return json_string(hex);
}

json_t *
wire_card(const jpki_card_rec_t *c)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (o == NULL)
		return NULL;
	put(o, "number", json_string(c->number), &ok);
	put(o, "resident", json_string(c->resident), &ok);
	put(o, "kind", json_integer(c->kind), &ok);
	put(o, "state", json_integer(c->state), &ok);
	put(o, "issued", date_json(&c->issued), &ok);
	put(o, "expiry", date_json(&c->expiry), &ok);
	put(o, "sign_serial", serial_json(c->sign_serial, c->sign_serial_len), &ok);
	put(o, "auth_serial", serial_json(c->auth_serial, c->auth_serial_len), &ok);
	put(o, "sign_key", json_string(c->sign_key), &ok);
	put(o, "auth_key", json_string(c->auth_key), &ok);
	return finish(o, ok);
}

json_t *
wire_act(const jpki_act_t *a)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (o == NULL)
		return NULL;
	put(o, "ref", json_string(a->ref), &ok);
	put(o, "kind", json_integer(a->kind), &ok);
	put(o, "state", json_integer(a->state), &ok);
	put(o, "step", json_string(a->step), &ok);
	put(o, "resident", json_string(a->resident), &ok);
	put(o, "card", json_string(a->card), &ok);
	put(o, "operator_name", json_string(a->operator_name), &ok);
	put(o, "id_kind", json_string(a->id_kind), &ok);
	put(o, "id_masked", json_string(a->id_masked), &ok);
	put(o, "fee", json_integer(a->fee), &ok);
	put(o, "time", json_integer(a->time), &ok);
	put(o, "detail", json_string(a->detail), &ok);
	put(o, "sign_new", json_string(a->sign_new), &ok);
	put(o, "auth_new", json_string(a->auth_new), &ok);
	put(o, "sign_old", json_string(a->sign_old), &ok);
	put(o, "auth_old", json_string(a->auth_old), &ok);
	put(o, "reason", json_integer(a->reason), &ok);
	return finish(o, ok);
}

json_t *
wire_pid(const jpki_photo_id_t *pid)
{
	json_t *o;
	int ok = 1;

	if (pid == NULL || pid->kind == NULL)
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	put(o, "kind", json_string(pid->kind), &ok);
	put(o, "number", str_or_null(pid->number), &ok);
	return finish(o, ok);
}

json_t *
wire_issue_opts(const jpki_issue_opts_t *opt)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (o == NULL)
		return NULL;
	put(o, "kind", json_integer(opt->kind), &ok);
	put(o, "no_sign", json_integer(opt->no_sign), &ok);
	put(o, "no_auth", json_integer(opt->no_auth), &ok);
	put(o, "under15_reason", str_or_null(opt->under15_reason), &ok);
	put(o, "card_expiry", opt->card_expiry != NULL ? date_json(opt->card_expiry) : json_null(),
	    &ok);
	put(o, "fee", json_integer(opt->fee), &ok);
	put(o, "reissue_after_loss", json_integer(opt->reissue_after_loss), &ok);
	return finish(o, ok);
}

json_t *
wire_pins(const jpki_pins_t *p)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (o == NULL)
		return NULL;
	put(o, "sign", str_or_null(p != NULL ? p->sign : NULL), &ok);
	put(o, "auth", str_or_null(p != NULL ? p->auth : NULL), &ok);
	return finish(o, ok);
}

/* ---- decoding ---- */

static int
bad(const char *key, const char *why)
{
	jpki_set_detail("%s: %s", key, why);
	return JPKI_ERR_FORMAT;
}

int
wire_str(const json_t *obj, const char *key, const char **out)
{
	const json_t *v;

	*out = NULL;
	if (!json_is_object(obj))
		return bad(key, "not in an object");
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(key, "not a string");
	/* A NUL inside would make the C string shorter than what was sent. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(key, "contains a NUL character");
	*out = json_string_value(v);
	return 0;
}

int
wire_int(const json_t *obj, const char *key, int64_t def, int64_t *out)
{
	const json_t *v;

	*out = def;
	if (!json_is_object(obj))
		return bad(key, "not in an object");
	v = json_object_get(obj, key);
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return bad(key, "not an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A required string copied into out[outlen]. */
static int
get_str(const json_t *o, const char *key, char *out, size_t outlen)
{
	const char *s;
	size_t n;
	int r;

	out[0] = '\0';
	if ((r = wire_str(o, key, &s)) != 0)
		return r;
	if (s == NULL)
		return bad(key, "missing");
	if ((n = strlen(s)) >= outlen) {
		jpki_set_detail("%s: %zu bytes, at most %zu", key, n, outlen - 1);
		return JPKI_ERR_FORMAT;
	}
	memcpy(out, s, n + 1);
	return 0;
}

/* A required integer within [lo, hi]. */
static int
get_int(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	int r;

	if (v == NULL)
		return bad(key, "missing");
	if ((r = wire_int(o, key, 0, out)) != 0)
		return r;
	if (*out < lo || *out > hi) {
		jpki_set_detail("%s: %lld out of range", key, (long long)*out);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

static int
get_i(const json_t *o, const char *key, int lo, int hi, int *out)
{
	int64_t v;
	int r;

	if ((r = get_int(o, key, lo, hi, &v)) != 0)
		return r;
	*out = (int)v;
	return 0;
}

/* A required date; "" is an unset date (zeros). */
static int
get_date(const json_t *o, const char *key, jpki_date_t *d)
{
	char s[16];
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = get_str(o, key, s, sizeof(s))) != 0)
		return r;
	if (s[0] == '\0')
		return 0;
	if (jpki_date_parse(s, d) != 0) {
		memset(d, 0, sizeof(*d));
		jpki_set_detail("%s: '%s' is not a date (YYYY-MM-DD)", key, s);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

static int
is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* A hex string of whole bytes, at most max bytes ("" for none). */
static int
get_serial(const json_t *o, const char *key, uint8_t *out, size_t max, size_t *len)
{
	char hex[2 * JPKI_SERIAL_MAX + 1];
	size_t n, i;
	int r;

	*len = 0;
	if ((r = get_str(o, key, hex, sizeof(hex))) != 0)
		return r;
	n = strlen(hex);
	if (n % 2 != 0 || !is_hex(hex) || n / 2 > max)
		return bad(key, "not a serial (hex digits, whole bytes)");
	for (i = 0; i < n / 2; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* A hex string kept as a string (the act's serials, the card's key hashes). */
static int
get_hexstr(const json_t *o, const char *key, char *out, size_t outlen)
{
	int r;

	if ((r = get_str(o, key, out, outlen)) != 0)
		return r;
	if (!is_hex(out)) {
		out[0] = '\0';
		return bad(key, "not hex digits");
	}
	return 0;
}

static int
need_object(const json_t *j, const char *what)
{
	if (!json_is_object(j))
		return bad(what, "not an object");
	return 0;
}

int
wire_resident_get(const json_t *j, jpki_resident_t *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = need_object(j, "resident")) != 0 ||
	    (rc = get_str(j, "id", r->id, sizeof(r->id))) != 0 ||
	    (rc = get_str(j, "name", r->name, sizeof(r->name))) != 0 ||
	    (rc = get_str(j, "kana", r->kana, sizeof(r->kana))) != 0 ||
	    (rc = get_date(j, "dob", &r->dob)) != 0 ||
	    (rc = get_i(j, "sex", 0, 9, &r->sex)) != 0 ||
	    (rc = get_str(j, "address", r->address, sizeof(r->address))) != 0 ||
	    (rc = get_str(j, "alias", r->alias, sizeof(r->alias))) != 0 ||
	    (rc = get_i(j, "foreign", 0, 1, &r->foreign)) != 0 ||
	    (rc = get_str(j, "card", r->card, sizeof(r->card))) != 0 ||
	    (rc = get_int(j, "registered", INT64_MIN, INT64_MAX, &r->registered)) != 0 ||
	    (rc = get_int(j, "updated", INT64_MIN, INT64_MAX, &r->updated)) != 0) {
		memset(r, 0, sizeof(*r));
		return rc;
	}
	return 0;
}

int
wire_card_get(const json_t *j, jpki_card_rec_t *c)
{
	int rc, kind = 0, state = 0;

	memset(c, 0, sizeof(*c));
	if ((rc = need_object(j, "card")) != 0 ||
	    (rc = get_str(j, "number", c->number, sizeof(c->number))) != 0 ||
	    (rc = get_str(j, "resident", c->resident, sizeof(c->resident))) != 0 ||
	    (rc = get_i(j, "kind", JPKI_CARD_MYNUMBER, JPKI_CARD_2004, &kind)) != 0 ||
	    (rc = get_i(j, "state", JPKI_CARD_ISSUING, JPKI_CARD_VOID, &state)) != 0 ||
	    (rc = get_date(j, "issued", &c->issued)) != 0 ||
	    (rc = get_date(j, "expiry", &c->expiry)) != 0 ||
	    (rc = get_serial(j, "sign_serial", c->sign_serial, sizeof(c->sign_serial),
	                     &c->sign_serial_len)) != 0 ||
	    (rc = get_serial(j, "auth_serial", c->auth_serial, sizeof(c->auth_serial),
	                     &c->auth_serial_len)) != 0 ||
	    (rc = get_hexstr(j, "sign_key", c->sign_key, sizeof(c->sign_key))) != 0 ||
	    (rc = get_hexstr(j, "auth_key", c->auth_key, sizeof(c->auth_key))) != 0) {
		memset(c, 0, sizeof(*c));
		return rc;
	}
	c->kind = (jpki_card_kind_t)kind;
	c->state = (jpki_card_state_t)state;
	return 0;
}

int
wire_act_get(const json_t *j, jpki_act_t *a)
{
	int rc, kind = 0, state = 0;

	memset(a, 0, sizeof(*a));
	if ((rc = need_object(j, "act")) != 0 ||
	    (rc = get_str(j, "ref", a->ref, sizeof(a->ref))) != 0 ||
	    (rc = get_i(j, "kind", 0, JPKI_ACT__COUNT - 1, &kind)) != 0 ||
	    (rc = get_i(j, "state", JPKI_ACT_PENDING, JPKI_ACT_UNDONE, &state)) != 0 ||
	    (rc = get_str(j, "step", a->step, sizeof(a->step))) != 0 ||
	    (rc = get_str(j, "resident", a->resident, sizeof(a->resident))) != 0 ||
	    (rc = get_str(j, "card", a->card, sizeof(a->card))) != 0 ||
	    (rc = get_str(j, "operator_name", a->operator_name, sizeof(a->operator_name))) != 0 ||
	    (rc = get_str(j, "id_kind", a->id_kind, sizeof(a->id_kind))) != 0 ||
	    (rc = get_str(j, "id_masked", a->id_masked, sizeof(a->id_masked))) != 0 ||
	    (rc = get_i(j, "fee", -1000000, 1000000, &a->fee)) != 0 ||
	    (rc = get_int(j, "time", INT64_MIN, INT64_MAX, &a->time)) != 0 ||
	    (rc = get_str(j, "detail", a->detail, sizeof(a->detail))) != 0 ||
	    (rc = get_hexstr(j, "sign_new", a->sign_new, sizeof(a->sign_new))) != 0 ||
	    (rc = get_hexstr(j, "auth_new", a->auth_new, sizeof(a->auth_new))) != 0 ||
	    (rc = get_hexstr(j, "sign_old", a->sign_old, sizeof(a->sign_old))) != 0 ||
	    (rc = get_hexstr(j, "auth_old", a->auth_old, sizeof(a->auth_old))) != 0 ||
	    (rc = get_i(j, "reason", -1, 10, &a->reason)) != 0) {
		memset(a, 0, sizeof(*a));
		return rc;
	}
	a->kind = (jpki_act_kind_t)kind;
	a->state = (jpki_act_state_t)state;
	return 0;
}

int
wire_pid_get(const json_t *j, jpki_photo_id_t *pid)
{
	const char *kind, *number;
	int r;

	memset(pid, 0, sizeof(*pid));
	if (j == NULL || json_is_null(j))
		return 0;
	if ((r = need_object(j, "pid")) != 0 || (r = wire_str(j, "kind", &kind)) != 0 ||
	    (r = wire_str(j, "number", &number)) != 0)
		return r;
	if (kind == NULL)
		return bad("pid.kind", "missing");
	/* The same bounds the act keeps them in (id_kind, id_masked). */
	if (strlen(kind) >= sizeof(((jpki_act_t *)0)->id_kind))
		return bad("pid.kind", "too long");
	if (number != NULL && strlen(number) >= sizeof(((jpki_act_t *)0)->id_masked))
		return bad("pid.number", "too long");
	pid->kind = kind;
	pid->number = number;
	return 0;
}

int
wire_issue_opts_get(const json_t *j, jpki_issue_opts_t *o, jpki_date_t *expiry_store)
{
	const json_t *v;
	const char *reason;
	int64_t n;
	int r;

	memset(o, 0, sizeof(*o));
	memset(expiry_store, 0, sizeof(*expiry_store));
	if ((r = need_object(j, "opts")) != 0)
		return r;
	if ((r = get_int(j, "kind", JPKI_CARD_MYNUMBER, JPKI_CARD_2004, &n)) != 0)
		return r;
	o->kind = (jpki_card_kind_t)n;
	if ((r = get_i(j, "no_sign", 0, 1, &o->no_sign)) != 0 ||
	    (r = get_i(j, "no_auth", 0, 1, &o->no_auth)) != 0 ||
	    (r = get_i(j, "fee", -1, 1000000, &o->fee)) != 0 ||
	    (r = get_i(j, "reissue_after_loss", 0, 1, &o->reissue_after_loss)) != 0 ||
	    (r = wire_str(j, "under15_reason", &reason)) != 0)
		goto fail;
	if (reason != NULL && strlen(reason) >= JPKI_TEXT_MAX) {
		r = bad("under15_reason", "too long");
		goto fail;
	}
	o->under15_reason = reason;
	v = json_object_get(j, "card_expiry");
	if (v != NULL && !json_is_null(v)) {
		if ((r = get_date(j, "card_expiry", expiry_store)) != 0)
			goto fail;
		if (expiry_store->year == 0) {
			r = bad("card_expiry", "empty (null for none)");
			goto fail;
		}
		o->card_expiry = expiry_store;
	}
	return 0;
fail:
	memset(o, 0, sizeof(*o));
	return r;
}

int
wire_pins_get(const json_t *j, jpki_pins_t *p)
{
	int r;

	memset(p, 0, sizeof(*p));
	if (j == NULL || json_is_null(j))
		return 0;
	if ((r = need_object(j, "pins")) != 0 || (r = wire_str(j, "sign", &p->sign)) != 0 ||
	    (r = wire_str(j, "auth", &p->auth)) != 0) {
		memset(p, 0, sizeof(*p));
		return r;
	}
	/* Longer than any password L9 allows: refused here, before the card. */
	if ((p->sign != NULL && strlen(p->sign) > 64) || (p->auth != NULL && strlen(p->auth) > 64)) {
		memset(p, 0, sizeof(*p));
		return bad("pins", "too long");
	}
	return 0;
}
