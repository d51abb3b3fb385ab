# Every dependency comes from Debian's packages (see README.md and ./run).
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(SPEEXDSP REQUIRED IMPORTED_TARGET speexdsp)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SPANDSP REQUIRED IMPORTED_TARGET spandsp)
pkg_check_modules(CODEC2 REQUIRED IMPORTED_TARGET codec2)
pkg_check_modules(BCG729 REQUIRED IMPORTED_TARGET libbcg729)
pkg_check_modules(SRTP2 REQUIRED IMPORTED_TARGET libsrtp2)
pkg_check_modules(OGG REQUIRED IMPORTED_TARGET ogg)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET fftw3f)
# The lab only: resampling signals for perceptual scoring exactly as SoX does.
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
# Header-only; used inside the lab's report (not in any public header).
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
# libcrypto: HMAC-SHA256 for join tokens; libssl: wss and https.
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto SSL)
# Boost.Beast / Boost.Asio (header-only): WebSocket signaling and the HTTP endpoints.
find_package(Boost 1.81 REQUIRED)

# libgsm ships neither a pkg-config file nor a CMake config.
find_path(GSM_INCLUDE_DIR gsm.h PATH_SUFFIXES gsm REQUIRED)
find_library(GSM_LIBRARY gsm REQUIRED)
add_library(parley_gsm INTERFACE)
target_include_directories(parley_gsm SYSTEM INTERFACE ${GSM_INCLUDE_DIR})
target_link_libraries(parley_gsm INTERFACE ${GSM_LIBRARY})
