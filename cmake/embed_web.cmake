# embed_web.cmake - builds the pages of web/ (the dashboard: index.html with dashboard.css and
# dashboard.js inlined; the query page: explore.html with dashboard.css, explore.css and
# explore.js inlined) and writes them as C byte arrays for the daemon to serve at GET / and
# GET /explore.
#
# cmake -DWEB_DIR=<web/> -DOUT=<file.c> -P embed_web.cmake
# Also emits the inline <script> and <style> bodies on their own, so the server can put
# their SHA-256 hashes in its Content-Security-Policy instead of allowing any inline code.
if(NOT WEB_DIR OR NOT OUT)
  message(FATAL_ERROR "embed_web.cmake: set WEB_DIR and OUT")
endif()

# Replaces each <!--#include FILE name="value" ...--> line of html_var with web/FILE, in which
# @name@ stands for value: the pages' shared <head> lines, header and key form are written once.
function(expand_includes html_var)
  set(html "${${html_var}}")
  string(REGEX MATCHALL "<!--#include [^>]*-->" directives "${html}")
  foreach(directive ${directives})
    string(REGEX MATCH "^<!--#include ([a-z.]+)(.*)-->$" _ "${directive}")
    set(part_file "${CMAKE_MATCH_1}")
    set(params "${CMAKE_MATCH_2}")
    if(NOT EXISTS "${WEB_DIR}/${part_file}")
      message(FATAL_ERROR "embed_web.cmake: ${directive} names no file of web/")
    endif()
    string(REGEX MATCHALL "[a-z]+=\"[^\"]*\"" pairs "${params}")
    foreach(pair ${pairs})
      string(REGEX MATCH "^([a-z]+)=\"(.*)\"$" _ "${pair}")
      set(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
    endforeach()
    file(READ "${WEB_DIR}/${part_file}" part)
    string(CONFIGURE "${part}" part @ONLY)
    string(REGEX REPLACE "\n$" "" part "${part}")
    string(REPLACE "${directive}" "${part}" html "${html}")
  endforeach()
  set(${html_var} "${html}" PARENT_SCOPE)
endfunction()

# Inlines one page (served at page_path): html_file, its includes expanded, with its <link rel="stylesheet" href="CSS_TAG_FILE"> replaced by
# a <style> holding the CSS files (in order) and its <script src="JS_FILE"> by a <script>
# holding common.js (the pages' shared helpers) and JS_FILE.
# Sets <var>_html, <var>_css and <var>_js in the caller.
function(inline_page var page_path html_file css_tag_file css_files js_file)
  file(READ "${WEB_DIR}/${html_file}" html)
  expand_includes(html)
  # The header's link to this page is marked as the current one.
  string(REPLACE "<a href=\"${page_path}\">" "<a href=\"${page_path}\" class=\"here\" aria-current=\"page\">"
         html "${html}")
  set(css "")
  foreach(f ${css_files})
    file(READ "${WEB_DIR}/${f}" part)
    string(APPEND css "${part}")
  endforeach()
  file(READ "${WEB_DIR}/common.js" common_js)
  file(READ "${WEB_DIR}/${js_file}" js)
  set(js "${common_js}${js}")
  set(css_tag "<link rel=\"stylesheet\" href=\"${css_tag_file}\">")
  set(js_tag "<script src=\"${js_file}\"></script>")
  foreach(tag css_tag js_tag)
    string(FIND "${html}" "${${tag}}" pos)
    if(pos EQUAL -1)
      message(FATAL_ERROR "embed_web.cmake: web/${html_file} lacks ${${tag}}")
    endif()
  endforeach()
  string(FIND "${js}" "</script" pos)
  if(NOT pos EQUAL -1)
    message(FATAL_ERROR "embed_web.cmake: ${js_file} must not contain </script")
  endif()
  string(FIND "${css}" "</style" pos)
  if(NOT pos EQUAL -1)
    message(FATAL_ERROR "embed_web.cmake: ${css_files} must not contain </style")
  endif()
  string(REGEX MATCH "(src|href)=\"(https?:)?//" ext "${html}")
  if(ext)
    message(FATAL_ERROR "embed_web.cmake: web/${html_file} loads something from another origin: ${ext}")
  endif()
  string(REPLACE "${css_tag}" "<style>${css}</style>" html "${html}")
  string(REPLACE "${js_tag}" "<script>${js}</script>" html "${html}")
  set(${var}_html "${html}" PARENT_SCOPE)
  set(${var}_css "${css}" PARENT_SCOPE)
  set(${var}_js "${js}" PARENT_SCOPE)
endfunction()

# The dashboard (GET /), and the query page (GET /explore) with the dashboard's look.
inline_page(dash "/" index.html dashboard.css "dashboard.css" dashboard.js)
inline_page(expl "/explore" explore.html explore.css "dashboard.css;explore.css" explore.js)
set(html "${dash_html}")
set(css "${dash_css}")
set(js "${dash_js}")

# Bytes -> "0x3c,0x21,..." lines. file(READ HEX) needs a file, so go through scratch files.
function(hex_array var text out)
  file(WRITE "${OUT}.${var}.tmp" "${text}")
  file(READ "${OUT}.${var}.tmp" hex HEX)
  file(REMOVE "${OUT}.${var}.tmp")
  string(LENGTH "${hex}" n)
  math(EXPR n "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])"
         "\\1\n" hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  set(${out} "const unsigned char ${var}[] = {\n${hex}0x00};\nconst size_t ${var}_len = ${n};\n" PARENT_SCOPE)
endfunction()

hex_array(cl_dashboard_html "${html}" a_html)
hex_array(cl_dashboard_script "${js}" a_js)
hex_array(cl_dashboard_style "${css}" a_css)
string(SHA256 digest "${html}")
string(SUBSTRING "${digest}" 0 20 digest)
hex_array(cl_explore_html "${expl_html}" e_html)
hex_array(cl_explore_script "${expl_js}" e_js)
hex_array(cl_explore_style "${expl_css}" e_css)
string(SHA256 e_digest "${expl_html}")
string(SUBSTRING "${e_digest}" 0 20 e_digest)

set(content "/* Generated by cmake/embed_web.cmake from web/; do not edit. */\n#include <stddef.h>\n\n")
string(APPEND content "${a_html}\n${a_js}\n${a_css}\n")
string(APPEND content "const char cl_dashboard_etag[] = \"\\\"${digest}\\\"\";\n")
string(APPEND content "${e_html}\n${e_js}\n${e_css}\n")
string(APPEND content "const char cl_explore_etag[] = \"\\\"${e_digest}\\\"\";\n")

# Rewrite only when the content changed, so an unchanged page does not relink.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${content}")
