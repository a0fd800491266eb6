"""The demo's model variants on small generated data: the pipeline trains on raw columns, the
biased variant's labels are skewed against one sex, each variant picks its features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from pipelines.demo.dataset import LABEL, SENSITIVE, generate
from pipelines.demo.train import VARIANTS, build_model, training_frame

BY_NAME = {v.name: v for v in VARIANTS}
TRAIN = generate(800, seed=1)
HOLDOUT = generate(400, seed=2)
COLUMNS = [c for c in TRAIN.columns if c not in (LABEL, SENSITIVE)]


def test_the_good_model_ranks_defaults_on_unseen_data() -> None:
    model = build_model(TRAIN, COLUMNS, max_iter=30)
    scores = model.predict_proba(HOLDOUT[COLUMNS])
    assert scores.shape == (len(HOLDOUT), 2)
    assert np.allclose(scores.sum(axis=1), 1.0)
    assert roc_auc_score(HOLDOUT[LABEL], scores[:, 1]) > 0.75


def test_a_category_never_seen_in_training_is_still_scored() -> None:
    model = build_model(TRAIN, COLUMNS, max_iter=10)
    unseen = HOLDOUT[COLUMNS].head(3).assign(purpose="spaceship")
    assert model.predict_proba(unseen).shape == (3, 2)


def test_only_the_biased_variant_relabels_and_only_one_sex() -> None:
    assert training_frame(BY_NAME["good"], TRAIN) is TRAIN
    biased = training_frame(BY_NAME["biased"], TRAIN)
    changed = biased[LABEL] != TRAIN[LABEL]
    assert changed.any()
    assert set(biased.loc[changed, SENSITIVE]) == {"F"}
    assert set(biased.loc[changed, LABEL]) == {1}
    candidates = ((TRAIN[SENSITIVE] == "F") & (TRAIN[LABEL] == 0)).sum()
    assert 0.15 < changed.sum() / candidates < 0.45  # about relabel=0.3 of them
    pd.testing.assert_frame_equal(training_frame(BY_NAME["biased"], TRAIN), biased)  # seeded
    assert TRAIN is not biased


def test_each_variant_chooses_its_features_and_data() -> None:
    assert BY_NAME["good"].features(COLUMNS) == COLUMNS
    assert SENSITIVE not in BY_NAME["good"].features(COLUMNS)
    assert BY_NAME["biased"].features(COLUMNS) == [*COLUMNS, SENSITIVE]
    assert BY_NAME["regressed"].features(COLUMNS) == [
        "region",
        "num_credit_lines",
        "loan_term_months",
        "purpose",
    ]
    assert BY_NAME["drifted"].training_data == "data/credit/train-drifted.csv"
    assert BY_NAME["faulty"].wrapper == "faulty_model.py"
    assert [v.name for v in VARIANTS] == ["good", "regressed", "biased", "drifted", "faulty"]
