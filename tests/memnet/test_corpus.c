/* test_corpus.c - the MemNet fuzz corpus (tests/fuzz/memnet/: regions, HTTP requests, replay CSV) replays through memnet_fuzz_one; under ASan any memory error fails it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"
#include "memnet/fuzzentry.h"
#include "testutil.h"

#define CORPUS "tests/fuzz/memnet"

static void test_corpus(void **state)
{
	DIR *d = opendir(CORPUS);
	struct dirent *e;
	int files = 0, kinds[3] = { 0 };

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[512];
		uint8_t *buf = malloc(1 << 16);

		if (e->d_name[0] == '.') {
			free(buf);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", CORPUS, e->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		size_t n = fread(buf, 1, 1 << 16, f);
		fclose(f);
		/* aborts (failing the test) when an invariant breaks */
		assert_int_equal(memnet_fuzz_one(buf, n), 0);
		if (n)
			kinds[buf[0] % 3]++;
		free(buf);
		files++;
	}
	closedir(d);
	printf("# replayed %d files: %d regions, %d HTTP, %d CSV\n", files, kinds[0], kinds[1],
	       kinds[2]);
	assert_true(files >= 100 && kinds[0] >= 20 && kinds[1] >= 20 && kinds[2] >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	log_init("test_corpus", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
