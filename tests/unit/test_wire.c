/* The window's records as JSON (registry/wire.h): each record crosses and
 * comes back equal, and what does not fit its C record is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jpki/error.h"
#include "jpki/registry.h"
#include "registry/wire.h"

/* Through text, as on the wire: encode, dump, load. */
static json_t *
cross(json_t *j)
{
	char *s;
	json_t *back;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	back = json_loads(s, 0, NULL);
	assert_non_null(back);
	free(s);
	json_decref(j);
	return back;
}

static void
fill_resident(jpki_resident_t *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->id, "00000001");
	strcpy(r->name, "山田　花子");
	strcpy(r->kana, "ヤマダ　ハナコ");
	r->dob = (jpki_date_t){1977, 11, 7};
	r->sex = 2;
	strcpy(r->address, "東京都千代田区霞が関２丁目１番２号\n\"quoted\" \\ back");
	strcpy(r->alias, "");
	r->foreign = 1;
	strcpy(r->card, "0000000001");
	r->registered = 1795222800;
	r->updated = INT64_C(17952228000);
}

static void
test_resident_round_trip(void **state)
{
	jpki_resident_t r, back;
	json_t *j;

	(void)state;
	fill_resident(&r);
	/* The longest name that fits. */
	memset(r.name, 'A', sizeof(r.name) - 1);
	r.name[sizeof(r.name) - 1] = '\0';
	j = cross(wire_resident(&r));
	assert_int_equal(wire_resident_get(j, &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	json_decref(j);
}

static void
test_card_round_trip(void **state)
{
	jpki_card_rec_t c, back;
	json_t *j;
	size_t i;

	(void)state;
	memset(&c, 0, sizeof(c));
	strcpy(c.number, "0000000001");
	strcpy(c.resident, "00000001");
	c.kind = JPKI_CARD_2004;
	c.state = JPKI_CARD_SUSPENDED;
	c.issued = (jpki_date_t){2026, 11, 21};
	c.expiry = (jpki_date_t){2036, 11, 7};
	for (i = 0; i < 16; i++)
		c.sign_serial[i] = (uint8_t)(0x40 + i * 7);
	c.sign_serial_len = 16;
	c.auth_serial_len = 0; /* none */
	memset(c.sign_key, 'a', 64);
	strcpy(c.auth_key, "");
	j = cross(wire_card(&c));
	assert_string_equal(json_string_value(json_object_get(j, "auth_serial")), "");
	assert_int_equal(wire_card_get(j, &back), 0);
	assert_memory_equal(&c, &back, sizeof(c));
	json_decref(j);

	/* A card being issued: no dates yet. */
	memset(&c.issued, 0, sizeof(c.issued));
	memset(&c.expiry, 0, sizeof(c.expiry));
	c.state = JPKI_CARD_ISSUING;
	j = cross(wire_card(&c));
	assert_int_equal(wire_card_get(j, &back), 0);
	assert_memory_equal(&c, &back, sizeof(c));
	json_decref(j);
}

static void
test_act_round_trip(void **state)
{
	jpki_act_t a, back;
	json_t *j;

	(void)state;
	memset(&a, 0, sizeof(a));
	strcpy(a.ref, "20261121-000001");
	a.kind = JPKI_ACT_ISSUE;
	a.state = JPKI_ACT_PENDING;
	strcpy(a.step, "keys");
	strcpy(a.resident, "00000001");
	strcpy(a.card, "0000000002");
	strcpy(a.operator_name, "clerk1");
	strcpy(a.id_kind, "passport");
	strcpy(a.id_masked, "*****6789");
	a.fee = 200;
	a.time = 1795222800;
	strcpy(a.detail, "issued card 0000000002");
	strcpy(a.sign_new, "0A1B2C3D4E5F60718293A4B5C6D7E8F9");
	strcpy(a.auth_old, "7F000001");
	a.reason = JPKI_REASON_NONE;
	j = cross(wire_act(&a));
	assert_int_equal(wire_act_get(j, &back), 0);
	assert_memory_equal(&a, &back, sizeof(a));
	json_decref(j);
}

static void
test_pid_opts_pins(void **state)
{
	jpki_photo_id_t pid = {"driving-licence", "****5678"}, pb;
	jpki_date_t exp = {2030, 2, 28}, store;
	jpki_issue_opts_t o = {.kind = JPKI_CARD_MYNUMBER, .no_sign = 1, .no_auth = 0,
	                       .under15_reason = "asked by guardian", .card_expiry = &exp,
	                       .fee = -1, .reissue_after_loss = 1},
	                  ob;
	jpki_pins_t pins = {"ABC123", NULL}, ppb;
	json_t *j;

	(void)state;
	j = cross(wire_pid(&pid));
	assert_int_equal(wire_pid_get(j, &pb), 0);
	assert_string_equal(pb.kind, pid.kind);
	assert_string_equal(pb.number, pid.number);
	json_decref(j);
	j = wire_pid(NULL);
	assert_true(json_is_null(j));
	assert_int_equal(wire_pid_get(j, &pb), 0);
	assert_null(pb.kind);
	json_decref(j);

	j = cross(wire_issue_opts(&o));
	assert_int_equal(wire_issue_opts_get(j, &ob, &store), 0);
	assert_int_equal(ob.kind, o.kind);
	assert_int_equal(ob.no_sign, 1);
	assert_int_equal(ob.no_auth, 0);
	assert_int_equal(ob.fee, -1);
	assert_int_equal(ob.reissue_after_loss, 1);
	assert_string_equal(ob.under15_reason, o.under15_reason);
	assert_ptr_equal(ob.card_expiry, &store);
	assert_memory_equal(&store, &exp, sizeof(exp));
	json_decref(j);
	o.card_expiry = NULL;
	o.under15_reason = NULL;
	j = cross(wire_issue_opts(&o));
	assert_int_equal(wire_issue_opts_get(j, &ob, &store), 0);
	assert_null(ob.card_expiry);
	assert_null(ob.under15_reason);
	json_decref(j);

	j = cross(wire_pins(&pins));
	assert_int_equal(wire_pins_get(j, &ppb), 0);
	assert_string_equal(ppb.sign, "ABC123");
	assert_null(ppb.auth);
	json_decref(j);
}

/* Each record with one member replaced by v (stolen), decoded by get. */
static int
resident_with(const char *key, json_t *v)
{
	jpki_resident_t r;
	json_t *j;
	int rc;

	fill_resident(&r);
	j = wire_resident(&r);
	assert_non_null(j);
	if (v != NULL)
		json_object_set_new(j, key, v);
	else
		json_object_del(j, key);
	jpki_clear_detail();
	rc = wire_resident_get(j, &r);
	if (rc != 0) {
		/* The detail names the field, and nothing half-decoded is left. */
		assert_non_null(strstr(jpki_detail(), key));
		assert_string_equal(r.id, "");
	}
	json_decref(j);
	return rc;
}

static void
test_refusals(void **state)
{
	char long_name[JPKI_TEXT_MAX + 1];
	jpki_card_rec_t c;
	jpki_act_t a;
	jpki_issue_opts_t o;
	jpki_date_t st;
	jpki_pins_t p;
	json_t *j;

	(void)state;
	/* Wrong types. */
	assert_int_equal(resident_with("name", json_integer(1)), JPKI_ERR_FORMAT);
	assert_int_equal(resident_with("sex", json_string("2")), JPKI_ERR_FORMAT);
	assert_int_equal(resident_with("registered", json_real(1.5)), JPKI_ERR_FORMAT);
	assert_int_equal(resident_with("dob", json_integer(19771107)), JPKI_ERR_FORMAT);
	/* Missing. */
	assert_int_equal(resident_with("address", NULL), JPKI_ERR_FORMAT);
	assert_int_equal(resident_with("name", json_null()), JPKI_ERR_FORMAT);
	/* Over-long: one byte more than the array holds with its NUL. */
	memset(long_name, 'A', JPKI_TEXT_MAX);
	long_name[JPKI_TEXT_MAX] = '\0';
	assert_int_equal(resident_with("name", json_string(long_name)), JPKI_ERR_FORMAT);
	long_name[JPKI_TEXT_MAX - 1] = '\0';
	assert_int_equal(resident_with("name", json_string(long_name)), 0);
	assert_int_equal(resident_with("id", json_string("0123456789012345678901234")),
	                 JPKI_ERR_FORMAT);
	/* A NUL inside a string. */
	assert_int_equal(resident_with("name", json_stringn("ab\0cd", 5)), JPKI_ERR_FORMAT);
	/* Bad dates. */
	assert_int_equal(resident_with("dob", json_string("1977-02-29")), JPKI_ERR_FORMAT);
	assert_int_equal(resident_with("dob", json_string("1977-1-7")), JPKI_ERR_FORMAT);
	assert_int_equal(resident_with("dob", json_string("1977-11-07T00:00:00Z")),
	                 JPKI_ERR_FORMAT);
	/* Out of range. */
	assert_int_equal(resident_with("foreign", json_integer(2)), JPKI_ERR_FORMAT);
	/* Unknown members are ignored. */
	assert_int_equal(resident_with("future", json_string("x")), 0);

	/* A card: bad serials and enums. */
	memset(&c, 0, sizeof(c));
	j = wire_card(&c);
	json_object_set_new(j, "sign_serial", json_string("0A1"));
	assert_int_equal(wire_card_get(j, &c), JPKI_ERR_FORMAT);
	json_object_set_new(j, "sign_serial", json_string("0G"));
	assert_int_equal(wire_card_get(j, &c), JPKI_ERR_FORMAT);
	json_object_set_new(j, "sign_serial",
	                    json_string("000102030405060708090A0B0C0D0E0F1011121314"));
	assert_int_equal(wire_card_get(j, &c), JPKI_ERR_FORMAT);
	assert_non_null(strstr(jpki_detail(), "sign_serial"));
	json_object_set_new(j, "sign_serial", json_string("00"));
	json_object_set_new(j, "state", json_integer(9));
	assert_int_equal(wire_card_get(j, &c), JPKI_ERR_FORMAT);
	json_object_set_new(j, "state", json_integer(JPKI_CARD_ACTIVE));
	assert_int_equal(wire_card_get(j, &c), 0);
	assert_int_equal(c.sign_serial_len, 1);
	json_decref(j);

	/* An act: kind out of range, not an object at all. */
	memset(&a, 0, sizeof(a));
	j = wire_act(&a);
	json_object_set_new(j, "kind", json_integer(JPKI_ACT__COUNT));
	assert_int_equal(wire_act_get(j, &a), JPKI_ERR_FORMAT);
	json_decref(j);
	j = json_array();
	assert_int_equal(wire_act_get(j, &a), JPKI_ERR_FORMAT);
	assert_int_equal(wire_pins_get(j, &p), JPKI_ERR_FORMAT);
	json_decref(j);

	/* Options: a bad expiry, a wrong type. */
	memset(&o, 0, sizeof(o));
	j = wire_issue_opts(&o);
	json_object_set_new(j, "card_expiry", json_string("2030-13-01"));
	assert_int_equal(wire_issue_opts_get(j, &o, &st), JPKI_ERR_FORMAT);
	json_object_set_new(j, "card_expiry", json_null());
	json_object_set_new(j, "no_sign", json_true());
	assert_int_equal(wire_issue_opts_get(j, &o, &st), JPKI_ERR_FORMAT);
	json_decref(j);

	/* Pins of the wrong type. */
	j = json_pack("{s:i,s:n}", "sign", 123456, "auth");
	assert_int_equal(wire_pins_get(j, &p), JPKI_ERR_FORMAT);
	json_decref(j);
}

static void
test_str_int(void **state)
{
	json_t *j = json_pack("{s:s,s:i,s:n,s:s}", "a", "x", "n", 42, "z", "s", "7");
	const char *s;
	int64_t v;

	(void)state;
	assert_int_equal(wire_str(j, "a", &s), 0);
	assert_string_equal(s, "x");
	assert_int_equal(wire_str(j, "missing", &s), 0);
	assert_null(s);
	assert_int_equal(wire_str(j, "z", &s), 0);
	assert_null(s);
	assert_int_equal(wire_str(j, "n", &s), JPKI_ERR_FORMAT);
	assert_int_equal(wire_int(j, "n", 0, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(wire_int(j, "missing", -5, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(wire_int(j, "s", 0, &v), JPKI_ERR_FORMAT);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_round_trip),
		cmocka_unit_test(test_card_round_trip),
		cmocka_unit_test(test_act_round_trip),
		cmocka_unit_test(test_pid_opts_pins),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_str_int),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
