#!/usr/bin/env bash
echo "make demo: not yet — the demo lands with the tcp_tuning resource and tcp_stats data source."
