/* test_corpus.c - replays the saved fuzz corpus of the loadgen's reply parsers (src/fuzz/fuzz_loadgen_reply.c) as a regression test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_loadgen_reply.c"
#include "testutil.h"

/* Run from the repository root (tests/run-tests does). */
#define CORPUS_DIR "tests/loadgen/corpus"

static void test_corpus(void **state)
{
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *de;
	int files = 0;

	if (!d)
		fail_msg("cannot open %s (run from the repository root)", CORPUS_DIR);
	while ((de = readdir(d))) {
		char path[512];
		FILE *f;
		uint8_t *buf;
		long n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)n + 1);
		assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		/* aborts (and so fails) if a parser breaks an invariant */
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		files++;
	}
	closedir(d);
	/* a missing or emptied corpus must not pass silently */
	assert_true(files >= 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	return VS_RUN_TESTS(tests);
}
