/*
 * The identity a signature certificate carries (spec §4): the otherName
 * entries of its subjectAltName, each [0] EXPLICIT UTF8String.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/verify.h"
#include "jpki/x509.h"

/* Copy a UTF8String into out; JPKI_ERR_FORMAT when it is not one or too long. */
static int
take_utf8(const char *what, const ASN1_TYPE *v, char *out, size_t outlen)
{
	const ASN1_STRING *s;
	int n;

	if (v == NULL || v->type != V_ASN1_UTF8STRING) {
		jpki_set_detail("subjectAltName %s: not a UTF8String", what);
		return JPKI_ERR_FORMAT;
	}
	s = v->value.utf8string;
	n = ASN1_STRING_length(s);
	if (n < 0 || (size_t)n >= outlen || memchr(ASN1_STRING_get0_data(s), 0, (size_t)n) != NULL) {
		jpki_set_detail("subjectAltName %s: %d bytes, at most %zu", what, n, outlen - 1);
		return JPKI_ERR_FORMAT;
	}
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
	out[n] = '\0';
	if (jpki_utf8_chars(out) < 0) {
		jpki_set_detail("subjectAltName %s: not UTF-8", what);
		out[0] = '\0';
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

int
jpki_identity_from_cert(X509 *cert, jpki_identity_t *id)
{
	static const struct {
		const char *oid;
		const char *what;
		size_t off, len;
	} fields[] = {
		{JPKI_OID_NAME, "name", offsetof(jpki_identity_t, name), sizeof(id->name)},
		{JPKI_OID_DOB, "date of birth", offsetof(jpki_identity_t, dob_code),
		 sizeof(id->dob_code)},
		{JPKI_OID_ADDRESS, "address", offsetof(jpki_identity_t, address), sizeof(id->address)},
		{JPKI_OID_ALIAS, "alias", offsetof(jpki_identity_t, alias), sizeof(id->alias)},
		{JPKI_OID_NAME_FLAGS, "name flags", offsetof(jpki_identity_t, name_flags),
		 sizeof(id->name_flags)},
		{JPKI_OID_ADDRESS_FLAGS, "address flags", offsetof(jpki_identity_t, address_flags),
		 sizeof(id->address_flags)},
	};
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g;
	char oid[80], sex[8];
	size_t k;
	int i, found = 0, r = JPKI_ERR_INTERNAL, crit = 0;

	if (id != NULL)
		memset(id, 0, sizeof(*id));
	if (cert == NULL || id == NULL)
		return JPKI_ERR_INVALID_ARG;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		ERR_clear_error();
		if (crit == -1) {
			jpki_set_detail("the certificate has no subjectAltName (not a signature "
			                "certificate)");
			return JPKI_ERR_NOT_FOUND;
		}
		jpki_set_detail("the certificate's subjectAltName cannot be parsed");
		return JPKI_ERR_FORMAT;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_OTHERNAME)
			continue;
		if (OBJ_obj2txt(oid, sizeof(oid), g->d.otherName->type_id, 1) <= 0)
			continue;
		if (strcmp(oid, JPKI_OID_SEX) == 0) {
			if ((r = take_utf8("sex", g->d.otherName->value, sex, sizeof(sex))) != 0)
				goto out;
			if (strcmp(sex, "1") && strcmp(sex, "2") && strcmp(sex, "9")) {
				jpki_set_detail("subjectAltName sex: '%s' is not 1, 2 or 9", sex);
				r = JPKI_ERR_FORMAT;
				goto out;
			}
			id->sex = sex[0] - '0';
			found = 1;
			continue;
		}
		for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			if (strcmp(oid, fields[k].oid) != 0)
				continue;
			if ((r = take_utf8(fields[k].what, g->d.otherName->value,
			                   (char *)id + fields[k].off, fields[k].len)) != 0)
				goto out;
			found = 1;
		}
	}
	if (!found) {
		jpki_set_detail("the certificate carries no identity (not a signature certificate)");
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	if (id->dob_code[0] != '\0') {
		if (jpki_era_dob_parse(id->dob_code, &id->dob, NULL) != 0) {
			jpki_set_detail("subjectAltName date of birth: '%s' is not EYYYYMMDD",
			                id->dob_code);
			r = JPKI_ERR_FORMAT;
			goto out;
		}
		id->has_dob = 1;
	}
	r = 0;
out:
	if (r != 0 && r != JPKI_ERR_NOT_FOUND)
		memset(id, 0, sizeof(*id));
	GENERAL_NAMES_free(gens);
	return r;
}

const char *
jpki_sex_name(int sex, int ja)
{
	switch (sex) {
	case 1: return ja ? "男" : "male";
	case 2: return ja ? "女" : "female";
	case 9: return ja ? "適用不能" : "not applicable";
	default: return ja ? "不明" : "unknown";
	}
}
