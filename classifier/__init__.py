"""The TF-IDF + linear model over a report's text fields: features, training, evaluation."""
