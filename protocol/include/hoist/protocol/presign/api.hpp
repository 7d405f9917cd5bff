// Transitional: the presign contract is now split by concern (config.hpp,
// names.hpp, auth.hpp, wire.hpp, presigning.hpp). This header only keeps
// engine/src/upload/uploader.cpp building until the new upload client, which
// includes wire.hpp itself, replaces it; it is then removed. Include the
// header you need instead.
#pragma once

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"
#include "hoist/protocol/presign/presigning.hpp"
#include "hoist/protocol/presign/wire.hpp"
