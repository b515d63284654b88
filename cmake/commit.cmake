# Writes OUT with TD_COMMIT: the source tree's git commit at build time
# (from a `make dist` tarball: the commit git archive wrote into
# commit.txt; else "unknown").
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  # a `make dist` tarball: git archive wrote the commit into commit.txt
  file(STRINGS "${SRC}/cmake/commit.txt" archived LIMIT_COUNT 1)
  if(archived MATCHES "^[0-9a-f]+$")
    string(SUBSTRING "${archived}" 0 12 commit)
  else()
    set(commit "unknown")
  endif()
endif()
file(WRITE "${OUT}.tmp" "#define TD_COMMIT \"${commit}\"\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
