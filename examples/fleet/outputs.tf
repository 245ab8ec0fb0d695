output "persisted_files" {
  description = "Where each host's settings are persisted."
  value       = { for name, t in tcp_tuning.fleet : name => t.persist_path }
}

output "kernels" {
  description = "Kernel release of each host at the last read."
  value       = { for name, t in tcp_tuning.fleet : name => t.kernel_release }
}

output "original_values" {
  description = "What each managed key was before this configuration changed it; written back on destroy."
  value       = { for name, t in tcp_tuning.fleet : name => t.original_values }
}
