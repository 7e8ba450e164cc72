"""Quickstart training job for smrun: linear regression by mini-batch gradient descent.

Standard library only. Reads hyperparameters from argv (smrun renders them exactly like the
SageMaker toolkit: --epochs 200 --lr 0.05), the training CSV from the `train` channel
(SM_CHANNEL_TRAIN), and writes the fitted weights to SM_MODEL_DIR/model.json.
"""
import argparse
import csv
import json
import os
import random
import sys


def load_rows(channel_dir):
    rows = []
    for name in sorted(os.listdir(channel_dir)):
        if not name.endswith(".csv"):
            continue
        with open(os.path.join(channel_dir, name), newline="") as f:
            for record in csv.reader(f):
                if record and not record[0].startswith("#"):
                    rows.append([float(x) for x in record])
    if not rows:
        sys.exit(f"no CSV rows found in {channel_dir}")
    return rows  # each row: target, feature_1, ..., feature_n


def train(rows, epochs, lr, batch_size, seed):
    rng = random.Random(seed)
    n_features = len(rows[0]) - 1
    weights = [0.0] * n_features
    bias = 0.0
    for epoch in range(1, epochs + 1):
        rng.shuffle(rows)
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            grad_w = [0.0] * n_features
            grad_b = 0.0
            for target, *features in batch:
                err = sum(w * x for w, x in zip(weights, features)) + bias - target
                for i, x in enumerate(features):
                    grad_w[i] += err * x
                grad_b += err
            scale = 2.0 / len(batch)
            weights = [w - lr * scale * g for w, g in zip(weights, grad_w)]
            bias -= lr * scale * grad_b
        if epoch == 1 or epoch % max(1, epochs // 5) == 0 or epoch == epochs:
            mse = sum((sum(w * x for w, x in zip(weights, f)) + bias - t) ** 2 for t, *f in rows) / len(rows)
            print(f"epoch={epoch} mse={mse:.6f}", flush=True)
    return weights, bias, mse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = load_rows(os.environ["SM_CHANNEL_TRAIN"])
    weights, bias, mse = train(rows, args.epochs, args.lr, args.batch_size, args.seed)
    model_dir = os.environ["SM_MODEL_DIR"]
    with open(os.path.join(model_dir, "model.json"), "w") as f:
        json.dump({"weights": weights, "bias": bias, "train_mse": mse, "hyperparameters": vars(args)}, f, indent=2)
    print(f"saved model to {model_dir}/model.json: weights={[round(w, 3) for w in weights]} bias={bias:.3f}")


if __name__ == "__main__":
    main()
