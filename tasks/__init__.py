"""Task families. Each sub-package registers its tasks on import (without importing torch)."""
