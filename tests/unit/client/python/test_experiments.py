"""Variant assignment as docs/experiments.md specifies it, held to the vectors both SDKs
share (tests/fixtures/sdk/variant_vectors.tsv), and the experiment events."""

import os
import unittest

from support import ROOT, make_client

from mingus_monitor import Experiments, assign_variant, experiment_hash

VECTORS = os.path.join(ROOT, "tests", "fixtures", "sdk", "variant_vectors.tsv")


def read_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            experiment, user_id, variants, expected = line.split("\t")
            pairs = [(name, int(weight)) for name, weight in
                     (v.rsplit(":", 1) for v in variants.split(","))]
            yield experiment, user_id, pairs, expected


class AssignmentTest(unittest.TestCase):
    def test_shared_vectors(self):
        vectors = list(read_vectors())
        self.assertGreaterEqual(len(vectors), 20)
        for experiment, user_id, pairs, expected in vectors:
            with self.subTest(experiment=experiment, user_id=user_id):
                self.assertEqual(assign_variant(experiment, user_id, pairs), expected)

    def test_fnv1a_64(self):
        # FNV-1a 64 of the bytes "a", 0x00 (offset basis 0xcbf29ce484222325): a known value
        # computed by hand from the definition.
        h = 0xCBF29CE484222325
        for byte in b"a\x00":
            h = ((h ^ byte) * 0x100000001B3) % 2 ** 64
        self.assertEqual(experiment_hash("a", ""), h)
        self.assertEqual(experiment_hash("", ""), (0xCBF29CE484222325 * 0x100000001B3) % 2 ** 64)

    def test_an_integer_user_id_is_its_decimal_text(self):
        for user in (0, 1, 42, -5, 10 ** 20):
            self.assertEqual(assign_variant("e", user, ["a", "b", "c"]),
                             assign_variant("e", str(user), ["a", "b", "c"]))

    def test_weights_split_users_in_proportion(self):
        counts = {"a": 0, "b": 0, "c": 0}
        for user in range(20000):
            counts[assign_variant("split", user, {"a": 50, "b": 30, "c": 20})] += 1
        self.assertAlmostEqual(counts["a"] / 20000, 0.5, delta=0.02)
        self.assertAlmostEqual(counts["b"] / 20000, 0.3, delta=0.02)
        self.assertAlmostEqual(counts["c"] / 20000, 0.2, delta=0.02)

    def test_forms_of_variants(self):
        self.assertEqual(assign_variant("e", "u", ["x"]), "x")
        self.assertEqual(assign_variant("e", "u", [("x", 0), ("y", 3)]), "y")
        self.assertIsNone(assign_variant("e", "u", []))
        self.assertIsNone(assign_variant("e", "u", {"x": 0}))
        with self.assertRaises(ValueError):
            assign_variant("e", "u", {"x": 1.5})
        with self.assertRaises(ValueError):
            assign_variant("e", "u", {"x": 10 ** 6 + 1})


class EventsTest(unittest.TestCase):
    def test_exposure_and_conversion(self):
        client = make_client()
        experiments = Experiments(client)
        cta = experiments.experiment("checkout_cta", [("A", 1), ("B", 1)])
        variant = cta.expose("user339563")
        self.assertEqual(variant, "B")  # as the vectors say
        self.assertEqual(cta.convert("user339563"), "B")
        self.assertEqual(experiments.convert("checkout_cta", 7, variant="A"), "A")
        client.flush()
        self.assertEqual(client.transport.events(), [
            {"type": "experiment", "experiment": "checkout_cta", "variant": "B",
             "user_id": "user339563", "event": "exposure"},
            {"type": "experiment", "experiment": "checkout_cta", "variant": "B",
             "user_id": "user339563", "event": "conversion"},
            {"type": "experiment", "experiment": "checkout_cta", "variant": "A",
             "user_id": 7, "event": "conversion"}])

    def test_bad_variants_never_raise(self):
        client = make_client()
        experiments = Experiments(client)
        self.assertIsNone(experiments.expose("e", "u", {"x": -1}))
        self.assertIsNone(experiments.expose("e", "u", [object()]))
        self.assertIsNone(experiments.assign("e", True))
        self.assertEqual(experiments.assign("e", "u", ["a", "b"], weights=[0, 1]), "b")
        client.flush()
        self.assertEqual(client.transport.datagrams, [])
        self.assertEqual(client.stats()["dropped"], {"bad_experiment": 3})


if __name__ == "__main__":
    unittest.main()
