from django.shortcuts import get_object_or_404, render

from .models import Actor, Commitment, Document


def commitment_list(request):
    return render(request, "commitments/commitment_list.html", {})


def commitment_detail(request, slug):
    commitment = get_object_or_404(Commitment, slug=slug)
    return render(request, "commitments/commitment_detail.html", {"commitment": commitment})


def document_detail(request, short_name):
    document = get_object_or_404(Document, short_name=short_name)
    return render(request, "commitments/document_detail.html", {"document": document})


def actor_detail(request, slug):
    actor = get_object_or_404(Actor, slug=slug)
    return render(request, "commitments/actor_detail.html", {"actor": actor})
