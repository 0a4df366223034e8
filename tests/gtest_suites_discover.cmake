# Run by ctest when it starts (see tests/gtest_suites.cmake): adds one test per GoogleTest suite
# of LAYERLAB_SUITES_EXE.
if(NOT EXISTS "${LAYERLAB_SUITES_EXE}")
  # Not built: a test that fails and says so, rather than a silently shorter run.
  add_test([==[${LAYERLAB_SUITES_EXE}]==] "${LAYERLAB_SUITES_EXE}")
  return()
endif()
# Listing runs no test; a sanitized executable's leak check would only see LibTorch's registries.
set(ENV{ASAN_OPTIONS} detect_leaks=0)
execute_process(COMMAND "${LAYERLAB_SUITES_EXE}" --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE status TIMEOUT 300)
unset(ENV{ASAN_OPTIONS})
if(NOT status EQUAL 0)
  add_test("${LAYERLAB_SUITES_EXE} --gtest_list_tests" "${LAYERLAB_SUITES_EXE}" --gtest_list_tests)
  return()
endif()
string(REPLACE "\n" ";" lines "${listing}")
# ctest reads the test files of subdirectories in scopes that inherit these variables.
set(suites "")
set(suite "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ #][^ ]*)\\.")
    # A suite line ("Suite." or "Prefix/Suite.  # TypeParam = ..."); its tests follow, indented.
    set(suite "${CMAKE_MATCH_1}")
    set(count_${suite} 0)
    list(APPEND suites "${suite}")
  elseif(suite AND line MATCHES "^  [^ ]")
    math(EXPR count_${suite} "${count_${suite}} + 1")
  endif()
endforeach()
foreach(suite IN LISTS suites)
  string(REGEX REPLACE "[^A-Za-z0-9_.-]" "_" report "${suite}")
  add_test("${suite}" "${LAYERLAB_SUITES_EXE}" "--gtest_filter=${suite}.*"
           "--gtest_output=json:${LAYERLAB_SUITES_REPORTS}/${report}.json")
  # Suites with more tests start first (ctest's own timings take over after one run), so that a
  # long suite does not run alone at the end.
  set_tests_properties("${suite}" PROPERTIES TIMEOUT ${LAYERLAB_SUITES_TIMEOUT} COST ${count_${suite}})
  if(LAYERLAB_SUITES_ENVIRONMENT)
    set_tests_properties("${suite}" PROPERTIES ENVIRONMENT "${LAYERLAB_SUITES_ENVIRONMENT}")
  endif()
endforeach()
