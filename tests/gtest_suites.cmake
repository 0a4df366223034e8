# ctest runs a GoogleTest executable one suite per process (gtest_discover_tests: one test per
# process). Each process loads LibTorch, about a second of CPU time on CI's machine, and that was
# half of the suites' whole run time. The list of suites is read from the executable when ctest
# starts (tests/gtest_suites_discover.cmake), so a new test needs no configure run. Each suite
# writes GoogleTest's JSON report to REPORTS/<suite>.json, which tools/workbench.sh counts.
#
#   layerlab_gtest_suites(TARGET [TIMEOUT seconds] [ENVIRONMENT VAR=value...])
function(layerlab_gtest_suites target)
  cmake_parse_arguments(arg "" "TIMEOUT" "ENVIRONMENT" ${ARGN})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 1500)
  endif()
  set(include_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake)
  file(GENERATE OUTPUT ${include_file} CONTENT
"set(LAYERLAB_SUITES_EXE [==[$<TARGET_FILE:${target}>]==])
set(LAYERLAB_SUITES_REPORTS [==[${CMAKE_BINARY_DIR}/test-logs/gtest/${target}]==])
set(LAYERLAB_SUITES_TIMEOUT ${arg_TIMEOUT})
set(LAYERLAB_SUITES_ENVIRONMENT [==[${arg_ENVIRONMENT}]==])
include([==[${PROJECT_SOURCE_DIR}/tests/gtest_suites_discover.cmake]==])
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
