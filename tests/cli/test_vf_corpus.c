/* test_vf_corpus.c - FlexVF's fuzz corpus (tests/fuzz/vf/) through every parser as a regression test, each file and its prefixes; under ASan any memory error fails it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/vffuzz.h"
#include "testutil.h"

#define CORPUS "tests/fuzz/vf"

static void test_corpus(void **state)
{
	DIR *d = opendir(CORPUS);
	struct dirent *de;
	int files = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[512];
		uint8_t *buf;
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		buf = malloc(1 << 16);
		assert_non_null(buf);
		n = fread(buf, 1, 1 << 16, f);
		fclose(f);
		assert_int_equal(vffuzz_one(buf, n), 0);
		for (size_t k = 0; k < n && k < 256; k += 7) /* truncated input */
			vffuzz_one(buf, k);
		free(buf);
		files++;
	}
	closedir(d);
	printf("# replayed %d corpus files\n", files);
	assert_true(files >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	return VS_RUN_TESTS(tests);
}
