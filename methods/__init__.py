"""Method families. Each sub-package registers its methods on import (without importing torch)."""
