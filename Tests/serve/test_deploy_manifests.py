"""deploy/: the Kubernetes manifests parse and name the server's real endpoints and flags, and the
Dockerfile builds the real product. (No Docker engine or cluster runs here; see docs/deployment.md.)"""
import re
import subprocess

import yaml

from conftest import BUILD, ROOT

DEPLOY = ROOT / "deploy"


def docs():
    out = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return {d["kind"]: d for d in out}


def help_flags():
    text = subprocess.run([str(BUILD / "kiln-serve"), "--help"], capture_output=True, text=True, timeout=60).stdout
    return set(re.findall(r"--[a-z][a-z-]+", text))


def test_deployment_probes_resources_and_flags():
    d = docs()
    assert {"Deployment", "Service", "HorizontalPodAutoscaler"} <= set(d)
    pod = d["Deployment"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert c["resources"]["requests"]["cpu"] == c["resources"]["limits"]["cpu"]
    assert "preStop" in c["lifecycle"]
    port = int(c["args"][c["args"].index("--port") + 1])
    assert c["ports"][0]["containerPort"] == port
    flags = {a for a in c["args"] if a.startswith("--")}
    assert flags <= help_flags(), flags - help_flags()
    assert pod["terminationGracePeriodSeconds"] > float(c["args"][c["args"].index("--drain-delay") + 1]) + float(
        c["args"][c["args"].index("--request-timeout") + 1])
    hpa = d["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == d["Deployment"]["metadata"]["name"]


def test_dockerfile_builds_the_product_and_runs_it():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "--product kiln-serve" in text
    assert text.count("FROM ") == 2
    assert "EXPOSE 8080" in text
    cmd = re.search(r"^CMD (\[.*\])", text, re.M).group(1)
    assert {f for f in yaml.safe_load(cmd) if f.startswith("--")} <= help_flags()
