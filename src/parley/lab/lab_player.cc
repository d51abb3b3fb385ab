#include "parley/lab/lab_player.h"

namespace parley::lab {

std::string_view BlockKindName(BlockKind kind) {
  switch (kind) {
    case BlockKind::kNormal:
      return "normal";
    case BlockKind::kConceal:
      return "conceal";
    case BlockKind::kFec:
      return "fec";
    case BlockKind::kInsert:
      return "insert";
    case BlockKind::kRemove:
      return "remove";
    case BlockKind::kSilence:
      return "silence";
  }
  return "unknown";
}

}  // namespace parley::lab
