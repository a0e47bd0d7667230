/* test_corpus.c - the fuzz corpus (tests/fixtures/corpus/) runs through every parser as a regression test; under ASan any memory error fails it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fuzzentry.h"
#include "lib/log.h"
#include "testutil.h"

static void test_corpus(void **state)
{
	DIR *d = opendir("tests/fixtures/corpus");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[512], *buf;
		FILE *f;
		long len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "tests/fixtures/corpus/%s", de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)len + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		assert_int_equal(fuzz_one((const uint8_t *)buf, (size_t)len), 0);
		/* and every prefix of it: truncated input */
		for (long k = 0; k < len && k < 512; k++)
			fuzz_one((const uint8_t *)buf, (size_t)k);
		free(buf);
		n++;
	}
	closedir(d);
	assert_true(n >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	log_init("test_corpus", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
