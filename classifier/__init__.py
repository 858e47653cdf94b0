"""The TF-IDF + linear model over a report's text fields: features, training, evaluation.

Modules, one job each:

- `features`: the feature record, defined once (`feature_record`), used by training,
  evaluation and serving alike;
- `pipeline`: the scikit-learn Pipeline (TF-IDF per text column, one-hot categoricals, a
  calibrated linear model);
- `augment` and `corpus`: the training corpus, built from the knowledge base's example logs
  and realistic variants of them (`python -m classifier.corpus`);
- `dataset`: parsing a corpus once, and splits grouped by source log and crash signature;
- `threshold`: the abstention threshold and its criterion;
- `evaluate`: grouped evaluation against a baseline, `reports/evaluation.md`;
- `train`: `python -m classifier.train` / `panicdx train`;
- `artifact`: `model.joblib` + `manifest.json`, and the loader that refuses mismatches;
- `fastpath`: the fitted pipeline's arithmetic without scikit-learn's per-call overhead.
"""
