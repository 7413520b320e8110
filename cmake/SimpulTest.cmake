# simpul_cc_test(NAME name SRCS files... DEPS targets... [LABELS labels...])
# Builds one GoogleTest binary and registers each test with ctest. Tests that start a real
# redis-server carry the label "redis".
function(simpul_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
