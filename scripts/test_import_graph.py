"""Unit tests of scripts/import-graph.py on a small crate written to a temporary directory.

Run: python3 -m unittest discover -s scripts -p 'test_import_graph.py'
"""

import contextlib
import importlib.util
import io
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "import-graph.py"
spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
import_graph = importlib.util.module_from_spec(spec)
sys.modules["import_graph"] = import_graph  # dataclasses look their module up there
spec.loader.exec_module(import_graph)

# A crate where a.rs and b.rs import each other (the known cycle); everything else is acyclic
# and exercises one resolution rule each.
DEMO = {
    "lib.rs": """
        //! Comments name crate::b::B without importing it.
        pub mod a;
        pub mod b;
        mod shared;
        mod store;
        pub use store::Thing;
        #[path = "elsewhere.rs"]
        mod moved;
        """,
    "a.rs": """
        use crate::b::{self, B};
        pub struct A;
        fn f() -> B { b::make() }
        """,
    "b.rs": """
        use super::a::A;
        pub struct B;
        pub fn make() -> B { let _ = "see crate::store::Thing"; B }
        """,
    "store/mod.rs": """
        mod inner;
        pub use inner::Thing;
        """,
    "store/inner.rs": """
        pub struct Thing;
        #[cfg(test)]
        mod tests {
            use super::*;
            use crate::b::B;
        }
        """,
    "shared.rs": """
        pub struct Helper;
        pub fn thing() -> crate::Thing { crate::Thing }
        fn label<'a>(s: &'a str) -> char { 'x' }
        """,
    "elsewhere.rs": """
        #[sea_orm(belongs_to = "super::a::A")]
        struct Relation;
        """,
}


def write_crate(root: Path, name: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / "crates" / name / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def run(root: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = import_graph.main(["--root", str(root), *args])
    return code, out.getvalue()


class ImportGraphTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        write_crate(self.root, "demo", DEMO)

    def tearDown(self):
        self.tmp.cleanup()

    def edges(self, *args):
        _, out = run(self.root, *args)
        return {line for line in out.splitlines() if "->" in line}

    def test_prints_every_edge_between_files_and_no_other(self):
        self.assertEqual(
            self.edges(),
            {
                "demo: a.rs -> b.rs",
                "demo: b.rs -> a.rs",
                "demo: lib.rs -> store/inner.rs",  # `pub use store::Thing`, followed
                "demo: store/mod.rs -> store/inner.rs",
                "demo: store/inner.rs -> b.rs",  # from the test module
                "demo: shared.rs -> store/inner.rs",  # `crate::Thing`: the re-exports followed
                "demo: elsewhere.rs -> a.rs",  # a `#[path]` module; a path in an attribute
            },
        )

    def test_finds_the_cycle_and_only_it(self):
        _, out = run(self.root)
        cycles = [line for line in out.splitlines() if line.startswith("cycle")]
        self.assertEqual(cycles, ["cycle demo (2 files): a.rs b.rs"])

    def test_a_cycle_made_by_test_code_alone_disappears_with_skip_tests(self):
        # shared.rs already names crate::Thing (in store/inner.rs); now inner's tests name shared
        (self.root / "crates/demo/src/store/inner.rs").write_text(
            "pub struct Thing;\n#[cfg(test)]\nmod tests { use crate::shared::Helper; }\n"
        )
        _, with_tests = run(self.root)
        _, without = run(self.root, "--skip-tests")
        self.assertIn("cycle demo (2 files): shared.rs store/inner.rs", with_tests)
        self.assertNotIn("shared.rs store/inner.rs", without)
        self.assertNotIn("demo: store/inner.rs -> shared.rs", without)

    def test_check_fails_on_a_cycle_unless_allowed(self):
        self.assertEqual(run(self.root, "--check")[0], 1)
        self.assertEqual(run(self.root, "--check", "--allow", "demo:?.rs")[0], 0)
        # a pattern that covers only one file of the cycle does not allow it
        self.assertEqual(run(self.root, "--check", "--allow", "demo:a.rs")[0], 1)
        # nor does a pattern for another crate
        self.assertEqual(run(self.root, "--check", "--allow", "other:*")[0], 1)

    def test_check_passes_without_cycles(self):
        (self.root / "crates/demo/src/b.rs").write_text("pub struct B;\npub fn make() -> B { B }\n")
        code, out = run(self.root, "--check")
        self.assertEqual(code, 0)
        self.assertIn("no cycles", out)


if __name__ == "__main__":
    unittest.main()
