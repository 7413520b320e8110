# openapi_valid: runs web/tools/validate-openapi.mjs on the built OpenAPI document. Fails
# loudly, saying what to do, when node, web/node_modules or the document are missing.
if(NOT NODE OR NOT EXISTS "${NODE}")
  message(FATAL_ERROR "openapi_valid needs node (/usr/bin/node); install nodejs")
endif()
if(NOT EXISTS "${WEB}/node_modules/@seriousme/openapi-schema-validator")
  message(FATAL_ERROR "openapi_valid needs ${WEB}/node_modules: run `npm ci` in ${WEB}")
endif()
if(NOT EXISTS "${DOC}")
  message(FATAL_ERROR "openapi_valid: ${DOC} is missing: build the target openapi_json")
endif()
execute_process(COMMAND "${NODE}" "${WEB}/tools/validate-openapi.mjs" "${DOC}"
  WORKING_DIRECTORY "${WEB}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "openapi_valid: ${DOC} is not a valid OpenAPI 3.1 document (above)")
endif()
